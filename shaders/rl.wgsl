// Richardson–Lucy steps on stacked, packed images (see src/deconv/rl.rs,
// the CPU twin); each component of a complex value is one channel.

// Keep in sync with `RlParams` in src/gpu/deconv.rs.
struct Params {
    count: u32,
    // 1 / N of the inverse FFT.
    scale: f32,
    threads_per_row: u32,
    unused: u32,
}

// Predicted values below this count as this (no division by zero); the CPU
// twin's FLOOR.
const FLOOR: f32 = 1e-6;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> observed: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> work: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> estimate: array<vec2<f32>>;

fn linear_index(id: vec3<u32>) -> u32 {
    return id.y * params.threads_per_row + id.x;
}

// work = g / (h * f), with work holding the unnormalized h * f.
@compute @workgroup_size(64)
fn ratio(@builtin(global_invocation_id) id: vec3<u32>) {
    let index = linear_index(id);
    if (index >= params.count) {
        return;
    }
    let g = max(observed[index], vec2<f32>(0.0));
    work[index] = g / max(work[index] * params.scale, vec2<f32>(FLOOR));
}

// f = max(f * correction, 0), with work holding the unnormalized correction.
// With scale 0 it starts the estimate: f = max(g, 0).
@compute @workgroup_size(64)
fn update(@builtin(global_invocation_id) id: vec3<u32>) {
    let index = linear_index(id);
    if (index >= params.count) {
        return;
    }
    if (params.scale == 0.0) {
        estimate[index] = max(observed[index], vec2<f32>(0.0));
        return;
    }
    estimate[index] = max(estimate[index] * work[index] * params.scale, vec2<f32>(0.0));
}
