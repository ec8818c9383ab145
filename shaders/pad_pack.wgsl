// Places two real image planes (or one and zeros) into one complex plane of
// the padded FFT domain: real part = plane a, imaginary part = plane b.
// Padding follows per-axis recipes from the host (two source samples and
// the weight of the first), the same mirrored, cross-faded borders as the CPU
// path (`Layout::pad`).

// Keep in sync with `PadParams` in src/gpu/deconv.rs.
struct Params {
    image_width: u32,
    image_height: u32,
    width: u32,
    height: u32,
    // Plane indices in `planes`; b == NONE leaves the imaginary part zero.
    plane_a: u32,
    plane_b: u32,
    // Offset of this pair's complex plane in `packed`.
    packed_offset: u32,
    threads_per_row: u32,
}

struct Recipe {
    first: u32,
    second: u32,
    weight_first: f32,
    unused: u32,
}

const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> planes: array<f32>;
@group(0) @binding(2) var<storage, read> row_recipes: array<Recipe>;
@group(0) @binding(3) var<storage, read> column_recipes: array<Recipe>;
@group(0) @binding(4) var<storage, read_write> packed: array<vec2<f32>>;

fn padded(plane: u32, r: Recipe, c: Recipe) -> f32 {
    let base = plane * params.image_width * params.image_height;
    let w = params.image_width;
    let top = c.weight_first * planes[base + r.first * w + c.first]
        + (1.0 - c.weight_first) * planes[base + r.first * w + c.second];
    let bottom = c.weight_first * planes[base + r.second * w + c.first]
        + (1.0 - c.weight_first) * planes[base + r.second * w + c.second];
    return r.weight_first * top + (1.0 - r.weight_first) * bottom;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let index = id.y * params.threads_per_row + id.x;
    if (index >= params.width * params.height) {
        return;
    }
    let r = row_recipes[index / params.width];
    let c = column_recipes[index % params.width];
    var value = vec2<f32>(padded(params.plane_a, r, c), 0.0);
    if (params.plane_b != NONE) {
        value.y = padded(params.plane_b, r, c);
    }
    packed[params.packed_offset + index] = value;
}
