"""Writes blind-estimation cases on images and shakes the shared set does not
hold, laid out as `tests/data/cases` is, for

    UNBLUR_CASES=DIR cargo run --release --example blind_evaluate kernel "" [auto]

Images: eight scikit-image samples not in the shared set (gray, central
512 px crop). Blurs: four random camera shakes (a Boracchi and Foi 2012 style
trajectory, half its exposure, scaled to 19-31 px) and a 19 px motion at 10
degrees; circular convolution, then Gaussian noise of 0.001 (clean, shakes
only) or 0.01 (noisy), stored as 16-bit PNG like the shared cases. Then, for
the parametric fits, a disk of radius 4.5 and a Gaussian of sigma 2.2
(noisy; their own noise seed, so the cases above stay as they were). Last,
the shakes and the motion through the shared set's `camera` pipeline: the
blur in linear light with a mirrored boundary, Poisson-Gaussian noise, sRGB
encoding, 8 bits and JPEG quality 90 (`blurred.jpg`; their own seed too).

    python3 -m pip install numpy scipy scikit-image pypng pillow
    python3 tools/oos_cases.py DIR

With `--colour`, five colour samples instead (the same shakes and motion,
clean and noisy as 16-bit RGB PNG, noise drawn per channel, and through
the camera pipeline as colour JPEGs), for the automatic weights' colour
planes: `python3 tools/oos_cases.py DIR --colour`.
"""
import os
import sys

import numpy as np
import png
from PIL import Image
from scipy import ndimage
from skimage import color, data
from skimage.util import img_as_float

IMAGES = ["chelsea", "coins", "gravel", "grass", "moon", "rocket", "horse", "text"]
COLOUR_IMAGES = ["chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina"]
SIDE = 512


def trajectory(rng, n=2000, length=60.0):
    """A random camera path: unit-speed steps, jittered, pulled back to the
    origin, with rare sharp turns."""
    anxiety = 0.1 * rng.random()
    centripetal = 0.7 * rng.random()
    jitter = 10 * rng.random()
    big_turns = 0.2 * rng.random()
    step = length / (n - 1)
    v = np.exp(1j * rng.random() * 2 * np.pi) * step
    x = np.zeros(n, complex)
    for t in range(n - 1):
        turn = 0
        if rng.random() < big_turns * anxiety:
            turn = 2 * v * np.exp(1j * (np.pi + (rng.random() - 0.5)))
        noise = jitter * (rng.standard_normal() + 1j * rng.standard_normal())
        v = v + turn + anxiety * (noise - centripetal * x[t]) * step
        v = v / abs(v) * step
        x[t + 1] = x[t] + v
    return x


def splat(points, size):
    """Points (complex, col + i row) accumulated bilinearly, normalized."""
    k = np.zeros((size, size))
    for p in points:
        c, r = p.real, p.imag
        c0, r0 = int(np.floor(c)), int(np.floor(r))
        fc, fr = c - c0, r - r0
        k[r0, c0] += (1 - fr) * (1 - fc)
        k[r0, c0 + 1] += (1 - fr) * fc
        k[r0 + 1, c0] += fr * (1 - fc)
        k[r0 + 1, c0 + 1] += fr * fc
    return k / k.sum()


def shake(rng, size, exposure=0.5):
    x = trajectory(rng)
    x = x[: int(len(x) * exposure)]
    x = x - (x.real.min() + 1j * x.imag.min())
    x = x * (size - 5) / max(x.real.max(), x.imag.max())
    offset = (size - 1 - x.real.max()) / 2 + 1j * (size - 1 - x.imag.max()) / 2
    return splat(x + offset, size)


def motion(length, angle):
    size = (int(length) | 1) + 2
    centre = size // 2
    a = np.deg2rad(angle)
    t = np.linspace(-length / 2, length / 2, 400)
    return splat(centre + t * np.cos(a) + 1j * (centre - t * np.sin(a)), size)


def disk(radius, samples=8):
    """A disk, each pixel weighted by the share of it inside (supersampled)."""
    size = 2 * int(np.ceil(radius)) + 3
    offsets = (np.arange(samples) + 0.5) / samples - 0.5
    r = np.arange(size) - size // 2
    y = (r[:, None, None, None] + offsets[None, None, :, None]) ** 2
    x = (r[None, :, None, None] + offsets[None, None, None, :]) ** 2
    k = ((x + y) <= radius**2).mean(axis=(2, 3))
    return k / k.sum()


def gaussian(sigma):
    size = 2 * int(np.ceil(3 * sigma)) + 1
    r = np.arange(size) - size // 2
    g = np.exp(-(r**2) / (2 * sigma**2))
    k = np.outer(g, g)
    return k / k.sum()


def write_case(out, name, sharp, blurred, kernel, jpeg=False):
    """The case's folder: `blurred.png` (16-bit) or, through the camera
    pipeline, `blurred.jpg` (8-bit, quality 90); `gt.png`, `kernel.png`."""
    case = os.path.join(out, name)
    os.makedirs(case, exist_ok=True)
    if jpeg:
        stored = np.round(np.clip(blurred, 0, 1) * 255).astype(np.uint8)
        mode = "RGB" if stored.ndim == 3 else "L"
        Image.fromarray(stored, mode).save(os.path.join(case, "blurred.jpg"), quality=90, subsampling=2)
    else:
        save(os.path.join(case, "blurred.png"), blurred, 16)
    save(os.path.join(case, "gt.png"), sharp, 8)
    save(os.path.join(case, "kernel.png"), kernel / kernel.max(), 16)


def circular_blur(image, kernel):
    if image.ndim == 3:
        return np.stack([circular_blur(image[..., c], kernel) for c in range(image.shape[2])], axis=-1)
    padded = np.zeros_like(image)
    h, w = kernel.shape
    padded[:h, :w] = kernel
    padded = np.roll(padded, (-(h // 2), -(w // 2)), (0, 1))
    return np.real(np.fft.ifft2(np.fft.fft2(image) * np.fft.fft2(padded)))


def srgb_to_linear(v):
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(v):
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055)


def camera_blur(rng, sharp, kernel, electrons=4000.0, read_noise=0.001):
    """The shared set's `camera` degradation: the blur acts in linear light
    (half-sample mirrored boundary), then shot and read noise, clipping and
    sRGB encoding; the JPEG step is in `write_case`."""
    kernel = kernel[..., None] if sharp.ndim == 3 else kernel
    linear = ndimage.convolve(srgb_to_linear(sharp), kernel, mode="reflect")
    noisy = rng.poisson(np.clip(linear, 0, None) * electrons) / electrons
    noisy = noisy + read_noise * rng.standard_normal(linear.shape)
    return linear_to_srgb(np.clip(noisy, 0, 1))


def gray(name):
    image = img_as_float(getattr(data, name)())
    if image.ndim == 3:
        image = color.rgb2gray(image[..., :3])
    h, w = image.shape
    top, left = max(0, (h - SIDE) // 2), max(0, (w - SIDE) // 2)
    return np.round(image[top : top + SIDE, left : left + SIDE] * 255) / 255


def colour(name):
    image = img_as_float(getattr(data, name)())[..., :3]
    h, w = image.shape[:2]
    top, left = max(0, (h - SIDE) // 2), max(0, (w - SIDE) // 2)
    return np.round(image[top : top + SIDE, left : left + SIDE] * 255) / 255


def save(path, values, bits):
    scale = (1 << bits) - 1
    stored = np.round(np.clip(values, 0, 1) * scale).astype(np.uint16 if bits == 16 else np.uint8)
    mode = "RGB" if stored.ndim == 3 else "L"
    if stored.ndim == 3:
        stored = stored.reshape(stored.shape[0], -1)
    png.from_array(stored, mode + ";16" if bits == 16 else mode).save(path)


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(20261204)
    kernels = {f"nshake{i}_{size}": shake(rng, size) for i, size in enumerate([19, 25, 31, 31])}
    kernels["motion19a10"] = motion(19, 10)
    if "--colour" in sys.argv[2:]:
        colour_cases(out, kernels)
        return
    for name in IMAGES:
        sharp = gray(name)
        for kernel_name, kernel in kernels.items():
            clean_and_noisy(out, rng, name, sharp, kernel_name, kernel)
    rng = np.random.default_rng(20261205)
    for name in IMAGES:
        sharp = gray(name)
        for kernel_name, kernel in [("disk4.5", disk(4.5)), ("gauss2.2", gaussian(2.2))]:
            blurred = circular_blur(sharp, kernel) + 0.01 * rng.standard_normal(sharp.shape)
            write_case(out, f"{name}__{kernel_name}__noisy", sharp, blurred, kernel)
    rng = np.random.default_rng(20261206)
    for name in IMAGES:
        sharp = gray(name)
        for kernel_name, kernel in kernels.items():
            blurred = camera_blur(rng, sharp, kernel)
            write_case(out, f"{name}__{kernel_name}__camera", sharp, blurred, kernel, jpeg=True)


def clean_and_noisy(out, rng, name, sharp, kernel_name, kernel):
    """The circular blur with Gaussian noise of 0.001 (clean, not for the
    motion) and 0.01 (noisy)."""
    for degradation, sigma in [("clean", 0.001), ("noisy", 0.01)]:
        if kernel_name.startswith("motion") and degradation == "clean":
            continue
        blurred = circular_blur(sharp, kernel) + sigma * rng.standard_normal(sharp.shape)
        write_case(out, f"{name}__{kernel_name}__{degradation}", sharp, blurred, kernel)


def colour_cases(out, kernels):
    rng = np.random.default_rng(20261207)
    for name in COLOUR_IMAGES:
        sharp = colour(name)
        for kernel_name, kernel in kernels.items():
            clean_and_noisy(out, rng, name, sharp, kernel_name, kernel)
            blurred = camera_blur(rng, sharp, kernel)
            write_case(out, f"{name}__{kernel_name}__camera", sharp, blurred, kernel, jpeg=True)


if __name__ == "__main__":
    main()
