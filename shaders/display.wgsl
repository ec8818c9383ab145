// Writes a result (linear-light planes) to an RGBA8 texture for the editor,
// sRGB-encoded so the texture shows as the exported file would.

// Keep in sync with `DisplayParams` in src/gpu/deconv.rs.
struct Params {
    width: u32,
    height: u32,
    // 1 (gray) or 3.
    channels: u32,
    // 1: sRGB-encode; 0: write values as they are.
    encode_srgb: u32,
    threads_per_row: u32,
    unused0: u32,
    unused1: u32,
    unused2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> planes: array<f32>;
@group(0) @binding(2) var output: texture_storage_2d<rgba8unorm, write>;

// IEC 61966-2-1, as `imaging::linear_to_srgb` (its CPU twin).
fn linear_to_srgb(v: f32) -> f32 {
    if (v <= 0.0031308) {
        return max(v * 12.92, 0.0);
    }
    return 1.055 * pow(v, 1.0 / 2.4) - 0.055;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let index = id.y * params.threads_per_row + id.x;
    let pixels = params.width * params.height;
    if (index >= pixels) {
        return;
    }
    var rgb = vec3<f32>(planes[index]);
    if (params.channels == 3u) {
        rgb = vec3<f32>(planes[index], planes[pixels + index], planes[2u * pixels + index]);
    }
    if (params.encode_srgb == 1u) {
        rgb = vec3<f32>(linear_to_srgb(rgb.x), linear_to_srgb(rgb.y), linear_to_srgb(rgb.z));
    }
    let position = vec2<i32>(i32(index % params.width), i32(index / params.width));
    textureStore(output, position, vec4<f32>(clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0));
}
