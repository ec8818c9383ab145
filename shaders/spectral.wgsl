// Pointwise work on full complex spectra of the stacked, packed images.
// `apply_filter`: Wiener / Tikhonov, out = G conj(H) / (|H|^2 + weight * R), R = 1
// (Wiener) or |P|^2 of the 5-point Laplacian (Tikhonov); the 1/N of the
// inverse FFT is folded in. `multiply`: data *= H (or conj(H)), in place.

// Keep in sync with `SpectralParams` in src/gpu/deconv.rs.
struct Params {
    width: u32,
    height: u32,
    // Complex values of all stacked spectra.
    count: u32,
    // 0: constant regularizer (Wiener), 1: Laplacian squared (Tikhonov).
    laplacian: u32,
    weight: f32,
    scale: f32,
    conjugate: u32,
    threads_per_row: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> otf: array<vec2<f32>>;
// `apply_filter` reads `source` and writes `destination`; `multiply` works in place on `destination`.
@group(0) @binding(2) var<storage, read> source: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> destination: array<vec2<f32>>;

const TAU: f32 = 6.283185307179586;

// |D_x|^2 + |D_y|^2 at frequency index i of one spectrum.
fn gradient_energy(i: u32) -> f32 {
    let kx = f32(i % params.width);
    let ky = f32(i / params.width);
    return 4.0 - 2.0 * cos(TAU * kx / f32(params.width)) - 2.0 * cos(TAU * ky / f32(params.height));
}

@compute @workgroup_size(64)
fn apply_filter(@builtin(global_invocation_id) id: vec3<u32>) {
    let index = id.y * params.threads_per_row + id.x;
    if (index >= params.count) {
        return;
    }
    let frequency = index % (params.width * params.height);
    let h = otf[frequency];
    var regularizer = params.weight;
    if (params.laplacian == 1u) {
        let e = gradient_energy(frequency);
        regularizer = params.weight * e * e;
    }
    let denominator = dot(h, h) + regularizer;
    var out = vec2<f32>(0.0, 0.0);
    if (denominator > 0.0) {
        out = complex_mul(source[index], vec2<f32>(h.x, -h.y)) * (params.scale / denominator);
    }
    destination[index] = out;
}

@compute @workgroup_size(64)
fn multiply(@builtin(global_invocation_id) id: vec3<u32>) {
    let index = id.y * params.threads_per_row + id.x;
    if (index >= params.count) {
        return;
    }
    var h = otf[index % (params.width * params.height)];
    if (params.conjugate == 1u) {
        h.y = -h.y;
    }
    destination[index] = complex_mul(destination[index], h) * params.scale;
}
