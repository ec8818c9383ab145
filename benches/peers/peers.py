#!/usr/bin/env python3
"""Time peer deconvolution implementations on this machine.

This script exists so that the `unblur bench` figures recorded in
BENCHMARKS.md can be compared with established peers measured on the same
machine in one run. It does not call unblur; run `unblur bench` right
before or after it and put both sets of numbers side by side.

Input: one deterministic 2048x1536 (width x height) RGB float32 image in
[0, 1]: `skimage.data.astronaut()` resized to 1536x2048 (rows x columns),
blurred per channel with a 13x13 area-antialiased disk PSF of radius 6,
plus Gaussian noise of sigma 0.01 from a fixed seed, clipped to [0, 1].

Peers, each looping over the 3 channels:

  skimage wiener        skimage.restoration.wiener(channel, psf, balance=0.01)
  skimage RL 30         skimage.restoration.richardson_lucy(channel, psf,
                        num_iter=30, clip=False)
  numpy rfft2 wiener    full Wiener filter with np.fft: the OTF is the rfft2
                        of the PSF zero-padded to the image size and rolled
                        so its centre lands on [0, 0] (computed once per run,
                        shared by the 3 channels, and included in the time);
                        per channel rfft2, F = conj(H) G / (|H|^2 + K) with
                        K = 0.01, irfft2
  numpy rfft2 wiener    what a K slider has to redo: G (per channel), conj(H)
  slider update         and |H|^2 are precomputed; only the pointwise
                        division and irfft2 are timed

Timing: one warm-up run (not counted), then the median of 5 runs of
time.perf_counter wall clock. A peer whose warm-up takes more than 20 s
gets 3 timed runs instead. numpy's FFT and scipy.fft run single-threaded by
default; thread-related environment variables are printed with the machine
line because they can change the figures.

Usage:
    python3 peers.py [--json PATH] [--runs N]
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import scipy
import scipy.ndimage
import skimage
import skimage.data
import skimage.restoration
import skimage.transform

HEIGHT, WIDTH = 1536, 2048
PSF_SIZE, PSF_RADIUS = 13, 6.0
NOISE_SIGMA = 0.01
SEED = 20240601
WIENER_K = 0.01
RL_ITERATIONS = 30
DEFAULT_RUNS = 5
SLOW_RUNS = 3
SLOW_SECONDS = 20.0
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def disk_psf(size=PSF_SIZE, radius=PSF_RADIUS, supersample=16):
    """Disk PSF whose pixel values are the covered area, normalised to sum 1.

    Each pixel is split into supersample x supersample sub-pixels; a
    sub-pixel counts when its centre lies inside the disk, which is centred
    on the middle pixel.
    """
    centre = (size - 1) / 2.0
    offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
    coords = np.arange(size)[:, None] + offsets[None, :]  # (pixel, sub-pixel)
    coords = (coords - centre).ravel()
    y, x = np.meshgrid(coords, coords, indexing="ij")
    inside = (x * x + y * y) <= radius * radius
    psf = inside.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    return (psf / psf.sum()).astype(np.float32)


def test_image(psf):
    """Deterministic blurred, noisy RGB float32 image, shape (H, W, 3)."""
    sharp = skimage.transform.resize(
        skimage.data.astronaut(), (HEIGHT, WIDTH), order=1, anti_aliasing=False
    ).astype(np.float32)
    blurred = np.stack(
        [
            scipy.ndimage.convolve(sharp[..., c], psf, mode="reflect")
            for c in range(3)
        ],
        axis=-1,
    )
    rng = np.random.default_rng(SEED)
    noisy = blurred + rng.normal(0.0, NOISE_SIGMA, blurred.shape).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def padded_otf(psf, shape):
    """rfft2 of the PSF zero-padded to `shape`, centre [h//2, w//2] at [0, 0]."""
    h, w = psf.shape
    padded = np.zeros(shape, dtype=psf.dtype)
    padded[:h, :w] = psf
    padded = np.roll(padded, (-(h // 2), -(w // 2)), axis=(0, 1))
    return np.fft.rfft2(padded)


def numpy_wiener(image, psf, k=WIENER_K):
    otf = padded_otf(psf, image.shape[:2])
    otf_conj = np.conj(otf)
    otf_power = otf.real**2 + otf.imag**2
    out = np.empty_like(image)
    for c in range(image.shape[2]):
        g = np.fft.rfft2(image[..., c])
        out[..., c] = np.fft.irfft2(otf_conj * g / (otf_power + k), s=image.shape[:2])
    return out


def make_slider_update(image, psf):
    """Return a closure doing only the per-K work, with G and H cached."""
    shape = image.shape[:2]
    otf = padded_otf(psf, shape)
    otf_conj = np.conj(otf)
    otf_power = otf.real**2 + otf.imag**2
    spectra = [np.fft.rfft2(image[..., c]) for c in range(image.shape[2])]

    def update(k=WIENER_K):
        return [np.fft.irfft2(otf_conj * g / (otf_power + k), s=shape) for g in spectra]

    return update


def skimage_wiener(image, psf):
    return [
        skimage.restoration.wiener(image[..., c], psf, balance=WIENER_K)
        for c in range(image.shape[2])
    ]


def skimage_rl(image, psf):
    return [
        skimage.restoration.richardson_lucy(
            image[..., c], psf, num_iter=RL_ITERATIONS, clip=False
        )
        for c in range(image.shape[2])
    ]


def time_peer(fn, runs):
    """One excluded warm-up, then `runs` timed runs (SLOW_RUNS if slow)."""
    start = time.perf_counter()
    fn()
    warmup = time.perf_counter() - start
    if warmup > SLOW_SECONDS:
        runs = min(runs, SLOW_RUNS)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "runs": runs, "times_s": times}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def nproc():
    try:
        return int(subprocess.run(["nproc"], capture_output=True, text=True).stdout)
    except (OSError, ValueError):
        return os.cpu_count()


def machine_info():
    return {
        "nproc": nproc(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "skimage": skimage.__version__,
        "threads_env": {v: os.environ[v] for v in THREAD_VARS if v in os.environ},
        "date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", metavar="PATH", help="also write results as JSON")
    parser.add_argument(
        "--runs", type=int, default=DEFAULT_RUNS, help="timed runs per peer (default 5)"
    )
    args = parser.parse_args()

    psf = disk_psf()
    image = test_image(psf)
    slider_update = make_slider_update(image, psf)

    peers = [
        ("skimage wiener", lambda: skimage_wiener(image, psf)),
        (f"skimage RL {RL_ITERATIONS}", lambda: skimage_rl(image, psf)),
        ("numpy rfft2 wiener", lambda: numpy_wiener(image, psf)),
        ("numpy rfft2 wiener slider update", slider_update),
    ]

    results = []
    for name, fn in peers:
        print(f"timing {name} ...", file=sys.stderr, flush=True)
        results.append({"peer": name, **time_peer(fn, args.runs)})

    info = machine_info()
    threads = ", ".join(f"{k}={v}" for k, v in info["threads_env"].items())
    print(
        f"Machine: nproc {info['nproc']}, {info['cpu']}; Python {info['python']}, "
        f"numpy {info['numpy']}, scipy {info['scipy']}, skimage {info['skimage']}"
        + (f"; {threads}" if threads else "")
    )
    print(f"Date: {info['date']}")
    print(f"Image: {WIDTH}x{HEIGHT} RGB float32, 3 channels per run")
    print()
    print("| peer | median s | runs |")
    print("|---|---:|---:|")
    for r in results:
        print(f"| {r['peer']} | {r['median_s']:.3f} | {r['runs']} |")

    if args.json:
        payload = {
            "machine": info,
            "image": {"width": WIDTH, "height": HEIGHT, "channels": 3, "dtype": "float32"},
            "psf": {"size": PSF_SIZE, "radius": PSF_RADIUS, "kind": "area-antialiased disk"},
            "noise_sigma": NOISE_SIGMA,
            "seed": SEED,
            "results": results,
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
