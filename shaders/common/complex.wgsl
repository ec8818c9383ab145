// Complex arithmetic on vec2<f32> (x real, y imaginary), prepended to the
// shaders that use it (see src/gpu/shaders.rs).

fn complex_mul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}
