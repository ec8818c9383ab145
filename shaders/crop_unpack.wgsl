// Cuts the image's region out of a packed complex plane of the FFT domain,
// scales it (the inverse FFT is unnormalized) and writes its real and
// imaginary parts to two real planes.

// Keep in sync with `CropParams` in src/gpu/deconv.rs.
struct Params {
    image_width: u32,
    image_height: u32,
    width: u32,
    top: u32,
    left: u32,
    plane_a: u32,
    plane_b: u32,
    packed_offset: u32,
    scale: f32,
    threads_per_row: u32,
    unused0: u32,
    unused1: u32,
}

const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> packed: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> planes: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let index = id.y * params.threads_per_row + id.x;
    let pixels = params.image_width * params.image_height;
    if (index >= pixels) {
        return;
    }
    let y = index / params.image_width;
    let x = index % params.image_width;
    let value = packed[params.packed_offset + (y + params.top) * params.width + x + params.left] * params.scale;
    planes[params.plane_a * pixels + index] = value.x;
    if (params.plane_b != NONE) {
        planes[params.plane_b * pixels + index] = value.y;
    }
}
