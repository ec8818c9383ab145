//! The GPU engine against the CPU reference: the WGSL FFT against a double
//! precision FFT, and every method against the CPU path. Runs on whatever
//! adapter exists (lavapipe in CI); without one it skips with a reason,
//! unless UNBLUR_REQUIRE_GPU=1 makes that a failure.

mod common;

use std::sync::Arc;

use rustfft::FftPlanner;
use rustfft::num_complex::Complex64;
use unblur::deconv::{Boundary, Prepared, richardson_lucy, total_variation};
use unblur::gpu::{GpuContext, GpuDeconvolver};
use unblur::imaging::{DecodeOptions, Image};
use unblur::jobs::Silent;
use unblur::psf::{Kernel, PsfSpec};

fn context() -> Option<Arc<GpuContext>> {
    match GpuContext::new_headless() {
        Ok(ctx) => {
            eprintln!("GPU tests on {}", ctx.description());
            Some(ctx)
        }
        Err(e) if std::env::var("UNBLUR_REQUIRE_GPU").as_deref() == Ok("1") => panic!("UNBLUR_REQUIRE_GPU=1 but {e}"),
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

fn seeded(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        })
        .collect()
}

/// 2D DFT in f64 (rows then columns with rustfft), the reference.
fn reference_fft(data: &[Complex64], height: usize, width: usize, inverse: bool) -> Vec<Complex64> {
    let mut planner = FftPlanner::<f64>::new();
    let (row, column) = if inverse {
        (planner.plan_fft_inverse(width), planner.plan_fft_inverse(height))
    } else {
        (planner.plan_fft_forward(width), planner.plan_fft_forward(height))
    };
    let mut out = data.to_vec();
    for r in out.chunks_mut(width) {
        row.process(r);
    }
    let mut col = vec![Complex64::default(); height];
    for x in 0..width {
        for y in 0..height {
            col[y] = out[y * width + x];
        }
        column.process(&mut col);
        for y in 0..height {
            out[y * width + x] = col[y];
        }
    }
    out
}

fn relative_l2(a: &[f64], b: &[f64]) -> f64 {
    let diff: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let norm: f64 = b.iter().map(|y| y * y).sum();
    (diff / norm).sqrt()
}

#[test]
fn wgsl_fft_matches_a_double_precision_fft() {
    let Some(ctx) = context() else { return };
    // (height, width): sizes with factors 2, 3, 5 and 7, two images stacked;
    // lengths above 2048 take the global-memory passes, the others the
    // workgroup-memory kernel.
    let sizes = [
        (64, 64),
        (100, 100),
        (90, 120),
        (243, 243),
        (625, 625),
        (750, 1000),
        (49, 56),
        (6, 2187),
        (2400, 4),
    ];
    for (h, w) in sizes {
        let stack = 2;
        let values = seeded(2 * h * w * stack, (h * 1000 + w) as u64);
        let input: Vec<[f32; 2]> = values.chunks(2).map(|c| [c[0] as f32, c[1] as f32]).collect();
        for inverse in [false, true] {
            let gpu = unblur::gpu::transform(&ctx, h, w, &input, inverse).unwrap();
            let mut want = Vec::new();
            for image in input.chunks(h * w) {
                let complex: Vec<Complex64> = image.iter().map(|v| Complex64::new(v[0] as f64, v[1] as f64)).collect();
                want.extend(
                    reference_fft(&complex, h, w, inverse)
                        .into_iter()
                        .flat_map(|c| [c.re, c.im]),
                );
            }
            let got: Vec<f64> = gpu.iter().flat_map(|c| [c[0] as f64, c[1] as f64]).collect();
            let error = relative_l2(&got, &want);
            eprintln!("fft {h}x{w} inverse={inverse}: relative L2 {error:.2e}");
            // Single-precision FFTs reach ~1e-7 * log2(n); the bound is 1e-5.
            assert!(
                error <= 1e-5,
                "{h}x{w} inverse={inverse}: relative L2 error {error:.2e}"
            );
        }
    }
}

fn test_image(channels: usize) -> (Image, Kernel) {
    let case = common::cases()
        .into_iter()
        .find(|c| c.id == "coffee__motion_l15_a30__noisy")
        .unwrap();
    let decoded = unblur::imaging::load(&case.blurred, &DecodeOptions::default()).unwrap();
    // A 96x80 crop keeps lavapipe quick.
    let (w, h) = (96, 80);
    let crop = |p: &Vec<f32>| {
        (0..h)
            .flat_map(|y| p[(100 + y) * decoded.image.width + 150..][..w].to_vec())
            .collect()
    };
    let planes = decoded.image.planes.iter().take(channels).map(crop).collect();
    let kernel = "motion:len=9,angle=30".parse::<PsfSpec>().unwrap().kernel().unwrap();
    (Image::from_planes(w, h, planes), kernel)
}

fn image_error(gpu: &Image, cpu: &Image) -> f64 {
    let flat = |i: &Image| i.planes.concat().iter().map(|v| *v as f64).collect::<Vec<f64>>();
    relative_l2(&flat(gpu), &flat(cpu))
}

#[test]
fn every_method_matches_the_cpu_path() {
    let Some(ctx) = context() else { return };
    for channels in [1, 3] {
        for boundary in [Boundary::Reflect, Boundary::Periodic] {
            let (image, kernel) = test_image(channels);
            // Periodic works on the image's own size: 96x80 has factors 2, 3 and 5.
            let cpu = Prepared::new(&image, boundary, kernel.height, kernel.width);
            let otf = cpu.otf(&kernel);
            let mut gpu = GpuDeconvolver::new(ctx.clone(), &image, boundary, kernel.height, kernel.width).unwrap();
            gpu.set_psf(&kernel).unwrap();
            let label = format!("{channels} channels, {boundary:?}");
            let checks = [
                ("wiener", gpu.wiener(0.01).unwrap(), cpu.wiener(&otf, 0.01)),
                ("tikhonov", gpu.tikhonov(0.02).unwrap(), cpu.tikhonov(&otf, 0.02)),
                (
                    "tv",
                    gpu.total_variation(2e-3, 20, &Silent).unwrap(),
                    total_variation(&cpu, &otf, 2e-3, 20, &Silent).unwrap(),
                ),
                (
                    "rl",
                    gpu.richardson_lucy(20, &Silent).unwrap(),
                    richardson_lucy(&cpu, &otf, 20, &Silent).unwrap(),
                ),
            ];
            for (name, from_gpu, from_cpu) in checks {
                assert_eq!(
                    (from_gpu.width, from_gpu.height, from_gpu.channels()),
                    (from_cpu.width, from_cpu.height, channels)
                );
                let error = image_error(&from_gpu, &from_cpu);
                eprintln!("{name}, {label}: relative L2 {error:.2e}");
                // DESIGN.md §4: well under 1e-3 relative L2 on f32.
                assert!(error < 1e-3, "{name}, {label}: relative L2 error {error:.2e}");
            }
        }
    }
}

fn crop_case(id: &str, x0: usize, y0: usize, w: usize, h: usize) -> Image {
    let case = common::cases().into_iter().find(|c| c.id == id).unwrap();
    let decoded = unblur::imaging::load(&case.blurred, &DecodeOptions::default()).unwrap();
    let crop = |p: &Vec<f32>| {
        (0..h)
            .flat_map(|y| p[(y0 + y) * decoded.image.width + x0..][..w].to_vec())
            .collect()
    };
    Image::from_planes(w, h, decoded.image.planes.iter().map(crop).collect())
}

#[test]
fn the_engine_gives_the_same_answer_on_both_backends() {
    use unblur::deconv::{Method, Settings};
    use unblur::engine::{self, Backend, Used};
    let Some(ctx) = context() else { return };
    let image = crop_case("coffee__motion_l15_a30__noisy", 100, 80, 120, 96);
    let kernel = "motion:len=15,angle=30".parse::<PsfSpec>().unwrap().kernel().unwrap();
    for method in Method::ALL {
        let settings = Settings {
            method,
            iterations: Some(15),
            ..Settings::default()
        };
        let (cpu, cpu_applied, used) = engine::deconvolve(&image, &kernel, &settings, Backend::Cpu, &Silent).unwrap();
        assert_eq!(used, Used::Cpu);
        let (gpu, gpu_applied, used) = engine::deconvolve(&image, &kernel, &settings, Backend::Gpu, &Silent).unwrap();
        assert!(matches!(used, Used::Gpu(_)), "{used}");
        assert_eq!(cpu_applied, gpu_applied);
        let error = image_error(&gpu, &cpu);
        eprintln!("engine {method}: relative L2 {error:.2e}");
        assert!(error < 1e-3, "{method}: {error:.2e}");
    }
    let settings = Settings::default();
    let (_, _, used) = engine::deconvolve(&image, &kernel, &settings, Backend::Auto, &Silent).unwrap();
    if ctx.is_software() {
        assert!(
            matches!(&used, Used::CpuFallback(reason) if reason.contains("software adapter")),
            "{used}"
        );
    } else {
        assert!(matches!(used, Used::Gpu(_)), "{used}");
    }
}

#[test]
fn the_blind_final_step_gives_the_same_answer_on_both_backends() {
    use unblur::engine::{Backend, Used};
    if context().is_none() {
        return;
    }
    let image = crop_case("coffee__motion_l15_a30__noisy", 100, 80, 120, 96);
    // An estimated kernel is never a clean model: a slightly bent streak.
    let kernel = "motion:len=13,angle=25".parse::<PsfSpec>().unwrap().kernel().unwrap();
    let floor = Some(1.0 / 510.0);
    let (cpu, cpu_applied, used) = unblur::blind::deblur(&image, &kernel, floor, Backend::Cpu, &Silent).unwrap();
    assert_eq!(used, Used::Cpu);
    let (gpu, gpu_applied, used) = unblur::blind::deblur(&image, &kernel, floor, Backend::Gpu, &Silent).unwrap();
    assert!(matches!(used, Used::Gpu(_)), "{used}");
    // The same weight (chosen on the CPU) and iterations on both.
    assert_eq!(cpu_applied, gpu_applied);
    let error = image_error(&gpu, &cpu);
    eprintln!("blind final step: relative L2 {error:.2e}");
    assert!(error < 1e-3, "relative L2 error {error:.2e}");
}

#[test]
fn images_too_large_for_a_buffer_run_in_tiles_with_the_same_result() {
    use unblur::deconv::{Method, Settings};
    use unblur::engine;
    let Some(ctx) = context() else { return };
    let image = crop_case("coffee__motion_l15_a30__noisy", 0, 0, 600, 400);
    let kernel = "motion:len=5,angle=30".parse::<PsfSpec>().unwrap().kernel().unwrap();
    for method in Method::ALL {
        let settings = Settings {
            method,
            iterations: Some(6),
            boundary: Boundary::Reflect,
            ..Settings::default()
        };
        // Half of what the whole image needs: forces several tiles.
        let layout =
            unblur::deconv::Layout::for_deconvolution(Boundary::Reflect, 400, 600, kernel.height, kernel.width);
        let whole_bytes = GpuDeconvolver::largest_binding_bytes(&layout, 3, method == Method::TotalVariation);
        let limit = whole_bytes / 2;
        let (whole, _) = unblur::deconv::deconvolve(&image, &kernel, &settings, &Silent).unwrap();
        let (tiled, _) = engine::on_gpu(&ctx, &image, &kernel, &settings, &Silent, limit).unwrap();
        let error = image_error(&tiled, &whole);
        eprintln!("tiled {method}: relative L2 {error:.2e}");
        assert!(error < 1e-3, "{method}: {error:.2e}");
    }
}

#[test]
fn display_writes_the_srgb_encoded_result() {
    let Some(ctx) = context() else { return };
    let (image, kernel) = test_image(3);
    let mut gpu = GpuDeconvolver::new(ctx.clone(), &image, Boundary::Reflect, kernel.height, kernel.width).unwrap();
    gpu.set_psf(&kernel).unwrap();
    gpu.apply_wiener(0.01).unwrap();
    let (w, h) = (image.width as u32, image.height as u32);
    let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
        label: None,
        size: wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba8Unorm,
        usage: wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    gpu.display(&texture, true).unwrap();
    // Rows of a texture copy are padded to 256 bytes.
    let row_bytes = (w * 4).div_ceil(256) * 256;
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (row_bytes * h) as u64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &staging,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(row_bytes),
                rows_per_image: Some(h),
            },
        },
        wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 1,
        },
    );
    ctx.queue.submit([encoder.finish()]);
    staging.slice(..).map_async(wgpu::MapMode::Read, |_| {});
    ctx.wait_idle().unwrap();
    let pixels = staging.get_mapped_range(..).unwrap().to_vec();
    let result = gpu.read().unwrap();
    let mut worst = 0.0f32;
    for y in 0..h as usize {
        for x in 0..w as usize {
            for c in 0..3 {
                let shown = pixels[y * row_bytes as usize + x * 4 + c] as f32 / 255.0;
                let expected = unblur::imaging::linear_to_srgb(result.planes[c][y * w as usize + x]).clamp(0.0, 1.0);
                worst = worst.max((shown - expected).abs());
            }
        }
    }
    // One 8-bit level, plus rounding.
    assert!(worst <= 1.0 / 255.0 + 1e-4, "{worst}");
}

#[test]
fn jobs_the_gpu_cannot_take_fail_clearly_or_fall_back() {
    use unblur::deconv::{Method, Settings};
    use unblur::engine::{self, Backend, Used};
    let Some(_ctx) = context() else { return };
    // 97 is prime: the GPU FFT cannot take a periodic 97x97 image.
    let image = crop_case("camera__disk_r6__clean", 0, 0, 97, 97);
    let kernel = "disk:r=2".parse::<PsfSpec>().unwrap().kernel().unwrap();
    let settings = Settings {
        method: Method::Wiener,
        boundary: Boundary::Periodic,
        ..Settings::default()
    };
    let error = engine::deconvolve(&image, &kernel, &settings, Backend::Gpu, &Silent).unwrap_err();
    assert!(error.to_string().contains("factors 2, 3, 5 and 7"), "{error}");
    let (result, _, used) = engine::deconvolve(&image, &kernel, &settings, Backend::Auto, &Silent).unwrap();
    assert!(matches!(used, Used::CpuFallback(_)), "{used}");
    assert_eq!((result.width, result.height), (97, 97));
}
