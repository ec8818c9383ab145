// A whole batched 1D complex FFT of length n <= 2048 per workgroup, every
// Stockham pass in workgroup shared memory: one global read and one global
// write per element instead of one per pass. Same passes as fft_pass.wgsl
// (its global-memory twin, used for longer transforms); each thread keeps
// the inputs of its butterflies in registers across a barrier, so one shared
// array serves as both source and destination of a pass.

// Keep in sync with `FftSharedParams` in src/gpu/fft.rs.
struct Params {
    n: u32,
    // Number of passes and their radices (at most 12: 4^6 > 2048 needs fewer).
    passes: u32,
    stride: u32,
    batch_stride: u32,
    batches_per_group: u32,
    group_stride: u32,
    inverse: u32,
    // Batches per dispatch row (2D dispatch of workgroups).
    groups_per_row: u32,
    radices: array<vec4<u32>, 3>,
}

const WORKGROUP: u32 = 256u;
const MAX_N: u32 = 2048u;
// Butterflies per thread per pass: n / radix / WORKGROUP, at most 2048 / 2 / 256.
const MAX_BUTTERFLIES: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> data: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> twiddles: array<vec2<f32>>;

var<workgroup> line: array<vec2<f32>, MAX_N>;

fn twiddle(index: u32) -> vec2<f32> {
    let w = twiddles[index % params.n];
    return select(w, vec2<f32>(w.x, -w.y), params.inverse == 1u);
}

fn radix_of(pass_index: u32) -> u32 {
    return params.radices[pass_index / 4u][pass_index % 4u];
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
    let batch = group.y * params.groups_per_row + group.x;
    let base = (batch / params.batches_per_group) * params.group_stride
        + (batch % params.batches_per_group) * params.batch_stride;
    let n = params.n;
    for (var i = thread; i < n; i += WORKGROUP) {
        line[i] = data[base + i * params.stride];
    }
    workgroupBarrier();
    var ns = 1u;
    for (var p = 0u; p < params.passes; p++) {
        let radix = radix_of(p);
        let per_pass = n / radix;
        let step = n / (ns * radix);
        let root_step = n / radix;
        // Read every input of this thread's butterflies before anyone writes.
        var values: array<array<vec2<f32>, 7>, MAX_BUTTERFLIES>;
        for (var b = 0u; b < MAX_BUTTERFLIES; b++) {
            let j = thread + b * WORKGROUP;
            if (j < per_pass) {
                let k = j % ns;
                for (var t = 0u; t < radix; t++) {
                    values[b][t] = complex_mul(line[j + t * per_pass], twiddle(k * t * step));
                }
            }
        }
        workgroupBarrier();
        for (var b = 0u; b < MAX_BUTTERFLIES; b++) {
            let j = thread + b * WORKGROUP;
            if (j < per_pass) {
                let k = j % ns;
                let first = (j / ns) * ns * radix + k;
                for (var q = 0u; q < radix; q++) {
                    var sum = vec2<f32>(0.0, 0.0);
                    for (var t = 0u; t < radix; t++) {
                        sum += complex_mul(values[b][t], twiddle(((q * t) % radix) * root_step));
                    }
                    line[first + q * ns] = sum;
                }
            }
        }
        workgroupBarrier();
        ns *= radix;
    }
    for (var i = thread; i < n; i += WORKGROUP) {
        data[base + i * params.stride] = line[i];
    }
}
