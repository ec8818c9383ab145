// One Stockham autosort pass of a batched 1D complex FFT (Govindaraju et al.,
// "High Performance Discrete Fourier Transforms on Graphics Processors", 2008),
// radix 2, 3, 4, 5 or 7. Each thread reads `radix` inputs a stride of n/radix
// apart, twiddles them, takes their DFT and writes them to their sorted places,
// so no bit-reversal pass is needed. Batches are rows (stride 1) or columns
// (stride = row length) of a row-major complex image.

// Keep in sync with `FftPassParams` in src/gpu/fft.rs.
struct Params {
    n: u32,
    radix: u32,
    // Length of the sub-transforms already done (product of earlier radices).
    ns: u32,
    // Distance between consecutive elements of one transform.
    stride: u32,
    // Distance between the first elements of consecutive transforms.
    batch_stride: u32,
    batches: u32,
    // 1 for the inverse transform (conjugate twiddles, unnormalized).
    inverse: u32,
    // Threads per dispatch row (2D dispatch for large batches).
    threads_per_row: u32,
    // Transforms are grouped (one group per stacked image for columns):
    // transform b starts at (b / per_group) * group_stride + (b % per_group) * batch_stride.
    batches_per_group: u32,
    group_stride: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> source: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> destination: array<vec2<f32>>;
// twiddles[m] = exp(-2 pi i m / n), computed in f64 on the host.
@group(0) @binding(3) var<storage, read> twiddles: array<vec2<f32>>;

fn twiddle(index: u32) -> vec2<f32> {
    let w = twiddles[index % params.n];
    return select(w, vec2<f32>(w.x, -w.y), params.inverse == 1u);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let thread = id.y * params.threads_per_row + id.x;
    let per_batch = params.n / params.radix;
    if (thread >= per_batch * params.batches) {
        return;
    }
    let batch = thread / per_batch;
    let j = thread % per_batch;
    let base = (batch / params.batches_per_group) * params.group_stride
        + (batch % params.batches_per_group) * params.batch_stride;
    let k = j % params.ns;
    let step = params.n / (params.ns * params.radix);
    var values: array<vec2<f32>, 7>;
    for (var t = 0u; t < params.radix; t++) {
        let x = source[base + (j + t * per_batch) * params.stride];
        values[t] = complex_mul(x, twiddle(k * t * step));
    }
    let root_step = params.n / params.radix;
    let first = (j / params.ns) * params.ns * params.radix + k;
    for (var q = 0u; q < params.radix; q++) {
        var sum = vec2<f32>(0.0, 0.0);
        for (var t = 0u; t < params.radix; t++) {
            sum += complex_mul(values[t], twiddle(((q * t) % params.radix) * root_step));
        }
        destination[base + (first + q * params.ns) * params.stride] = sum;
    }
}
