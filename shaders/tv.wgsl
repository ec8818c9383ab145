// Total-variation ADMM on stacked, packed images (see src/deconv/tv.rs, the
// CPU twin). Per pixel, `z` and `u` hold (dx re, dx im, dy re, dy im): the
// gradients of the two channels of a packed pair. The scaled dual `u` is
// stored unscaled and multiplied by `u_scale` when read, so a change of the
// penalty needs no pass of its own and no thread reads a half-updated value.

// Keep in sync with `TvParams` in src/gpu/deconv.rs.
struct Params {
    width: u32,
    height: u32,
    pairs: u32,
    u_scale: f32,
    rho: f32,
    // Shrinkage threshold lambda / rho.
    threshold: f32,
    // 1 / N of the inverse FFT, folded into `solve`.
    scale: f32,
    threads_per_row: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> otf: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> observed_spectra: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> work: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> z: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> u: array<vec4<f32>>;

const TAU: f32 = 6.283185307179586;

fn linear_index(id: vec3<u32>) -> u32 {
    return id.y * params.threads_per_row + id.x;
}

// z - u_scale * u at a pixel of a pair.
fn split_difference(at: u32) -> vec4<f32> {
    return z[at] - params.u_scale * u[at];
}

// work = D^T (z - u): the right-hand side's spatial part, per pair.
@compute @workgroup_size(64)
fn rhs(@builtin(global_invocation_id) id: vec3<u32>) {
    let index = linear_index(id);
    let pixels = params.width * params.height;
    if (index >= pixels * params.pairs) {
        return;
    }
    let base = (index / pixels) * pixels;
    let i = index % pixels;
    let y = i / params.width;
    let x = i % params.width;
    let left = base + y * params.width + (x + params.width - 1u) % params.width;
    let up = base + ((y + params.height - 1u) % params.height) * params.width + x;
    let here = split_difference(index);
    let from_left = split_difference(left);
    let from_up = split_difference(up);
    work[index] = (from_left.xy - here.xy) + (from_up.zw - here.zw);
}

// work = (conj(H) G + rho work) / (|H|^2 + rho |D|^2) / N, on spectra.
@compute @workgroup_size(64)
fn solve(@builtin(global_invocation_id) id: vec3<u32>) {
    let index = linear_index(id);
    let pixels = params.width * params.height;
    if (index >= pixels * params.pairs) {
        return;
    }
    let frequency = index % pixels;
    let h = otf[frequency];
    let kx = f32(frequency % params.width);
    let ky = f32(frequency / params.width);
    let energy = 4.0 - 2.0 * cos(TAU * kx / f32(params.width)) - 2.0 * cos(TAU * ky / f32(params.height));
    let data = complex_mul(observed_spectra[index], vec2<f32>(h.x, -h.y));
    work[index] = (data + params.rho * work[index]) * (params.scale / (dot(h, h) + params.rho * energy));
}

// v = grad(work) + u; z = shrink(v, threshold) jointly over every channel of
// every pair; u = v - z. One thread per pixel.
@compute @workgroup_size(64)
fn shrink(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = linear_index(id);
    let pixels = params.width * params.height;
    if (i >= pixels) {
        return;
    }
    let y = i / params.width;
    let x = i % params.width;
    let right = y * params.width + (x + 1u) % params.width;
    let down = ((y + 1u) % params.height) * params.width + x;
    var norm_sq = 0.0;
    for (var p = 0u; p < params.pairs; p++) {
        let base = p * pixels;
        let f = work[base + i];
        let v = vec4<f32>(work[base + right] - f, work[base + down] - f) + params.u_scale * u[base + i];
        norm_sq += dot(v, v);
    }
    let norm = sqrt(norm_sq);
    var keep = 0.0;
    if (norm > params.threshold) {
        keep = 1.0 - params.threshold / norm;
    }
    for (var p = 0u; p < params.pairs; p++) {
        let base = p * pixels;
        let f = work[base + i];
        let v = vec4<f32>(work[base + right] - f, work[base + down] - f) + params.u_scale * u[base + i];
        z[base + i] = v * keep;
        u[base + i] = v - v * keep;
    }
}
