//! CPU 2D real FFTs (realfft for rows, rustfft for columns, rayon across
//! rows and column blocks), with plans cached per size.
//!
//! A spectrum of an `height x width` real image holds `height` rows of
//! `width / 2 + 1` frequencies, row-major. Column transforms gather a block of
//! columns into a small contiguous buffer (cache-sized), transform it, and
//! scatter it back, so no full-size transpose or temporary is needed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
pub use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

/// A 2D real FFT plan for one size. Build it with [`plan`] (cached).
pub struct Fft2d {
    pub height: usize,
    pub width: usize,
    /// Stored frequencies per row: `width / 2 + 1`.
    pub columns: usize,
    row_forward: Arc<dyn RealToComplex<f32>>,
    row_inverse: Arc<dyn ComplexToReal<f32>>,
    column_forward: Arc<dyn Fft<f32>>,
    column_inverse: Arc<dyn Fft<f32>>,
}

/// Columns transformed together: 16 complex f32 are two cache lines per row,
/// and a block of a few thousand rows stays in L2.
const COLUMN_BLOCK: usize = 16;

/// Plans by (height, width).
type PlanCache = Mutex<HashMap<(usize, usize), Arc<Fft2d>>>;

/// The cached plan for `height x width`.
pub fn plan(height: usize, width: usize) -> Arc<Fft2d> {
    static CACHE: OnceLock<PlanCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut plans = cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    plans
        .entry((height, width))
        .or_insert_with(|| Arc::new(Fft2d::new(height, width)))
        .clone()
}

/// A pointer that column blocks write through: each block touches only its
/// own columns, so the writes of parallel blocks never overlap.
#[derive(Clone, Copy)]
struct SharedSpectrum(*mut Complex32);
// SAFETY: used only by the column passes, whose blocks are disjoint.
unsafe impl Send for SharedSpectrum {}
unsafe impl Sync for SharedSpectrum {}

impl Fft2d {
    fn new(height: usize, width: usize) -> Self {
        let mut real = RealFftPlanner::<f32>::new();
        let mut complex = FftPlanner::<f32>::new();
        Fft2d {
            height,
            width,
            columns: width / 2 + 1,
            row_forward: real.plan_fft_forward(width),
            row_inverse: real.plan_fft_inverse(width),
            column_forward: complex.plan_fft_forward(height),
            column_inverse: complex.plan_fft_inverse(height),
        }
    }

    /// Length of a spectrum of this size.
    pub fn spectrum_len(&self) -> usize {
        self.columns * self.height
    }

    /// Index in a spectrum of frequency (row `ky`, column `kx`), kx <= width / 2.
    #[inline]
    pub fn frequency(&self, ky: usize, kx: usize) -> usize {
        ky * self.columns + kx
    }

    /// (ky, kx) of a spectrum index.
    #[inline]
    pub fn coordinates(&self, index: usize) -> (usize, usize) {
        (index / self.columns, index % self.columns)
    }

    /// Forward transform of a row-major real image (unnormalized).
    pub fn forward(&self, image: &[f32]) -> Vec<Complex32> {
        let mut spectrum = vec![Complex32::default(); self.spectrum_len()];
        self.forward_into(image, &mut spectrum);
        spectrum
    }

    /// Forward transform into a caller-owned spectrum buffer.
    pub fn forward_into(&self, image: &[f32], spectrum: &mut [Complex32]) {
        self.forward_rows(image, spectrum);
        self.transform_columns(spectrum, &self.column_forward);
    }

    /// Forward transform of an image that is zero except for the given
    /// (row index, row) pairs, each row index listed once: the zero rows
    /// skip the row pass.
    pub fn forward_sparse_rows(&self, rows: &[(usize, Vec<f32>)]) -> Vec<Complex32> {
        self.forward_sparse(&self.forward_rows_sparse(rows))
    }

    /// The full forward transform of an image given by its sparse rows'
    /// spectra.
    pub fn forward_sparse(&self, sparse: &SparseRows) -> Vec<Complex32> {
        let mut spectrum = vec![Complex32::default(); self.spectrum_len()];
        for (y, row) in &sparse.rows {
            spectrum[y * self.columns..(y + 1) * self.columns].copy_from_slice(row);
        }
        self.transform_columns(&mut spectrum, &self.column_forward);
        spectrum
    }

    /// Inverse transform, normalized so that `inverse(forward(x)) == x`.
    pub fn inverse(&self, spectrum: &[Complex32]) -> Vec<f32> {
        let mut image = vec![0.0; self.height * self.width];
        self.inverse_destroying(&mut spectrum.to_vec(), &mut image);
        image
    }

    /// Inverse transform into a caller-owned image, using `spectrum` as
    /// working memory (its contents are lost): no allocation of its size.
    pub fn inverse_destroying(&self, spectrum: &mut [Complex32], image: &mut [f32]) {
        assert_eq!(spectrum.len(), self.spectrum_len());
        assert_eq!(image.len(), self.height * self.width);
        self.transform_columns(spectrum, &self.column_inverse);
        let scale = 1.0 / (self.height * self.width) as f32;
        let row_fft = &self.row_inverse;
        let even = self.width.is_multiple_of(2);
        image
            .par_chunks_mut(self.width)
            .zip(spectrum.par_chunks_mut(self.columns))
            .for_each_init(
                || row_fft.make_scratch_vec(),
                |scratch, (out, row)| {
                    clear_real_bins(row, even);
                    let _ = row_fft.process_with_scratch(row, out, scratch);
                    out.iter_mut().for_each(|v| *v *= scale);
                },
            );
    }

    /// Transforms every column of a row-major spectrum in place, a block of
    /// columns at a time.
    fn transform_columns(&self, spectrum: &mut [Complex32], fft: &Arc<dyn Fft<f32>>) {
        self.for_column_blocks(spectrum, true, |_, local, scratch| {
            fft.process_with_scratch(local, scratch)
        });
    }

    /// Runs `work(first column, block, scratch)` on every block of columns of
    /// a row-major spectrum, in parallel. The block is gathered column-major
    /// (`count` columns of `height` values each) when `gather`, and
    /// scattered back after.
    fn for_column_blocks(
        &self,
        spectrum: &mut [Complex32],
        gather: bool,
        work: impl Fn(usize, &mut [Complex32], &mut [Complex32]) + Sync,
    ) {
        assert_eq!(spectrum.len(), self.spectrum_len());
        let (rows, columns) = (self.height, self.columns);
        let shared = SharedSpectrum(spectrum.as_mut_ptr());
        let blocks = columns.div_ceil(COLUMN_BLOCK);
        let scratch_len = self.column_scratch_len();
        (0..blocks).into_par_iter().for_each_init(
            || {
                (
                    vec![Complex32::default(); rows * COLUMN_BLOCK],
                    vec![Complex32::default(); scratch_len],
                )
            },
            |(local, scratch), block| {
                let first = block * COLUMN_BLOCK;
                let count = COLUMN_BLOCK.min(columns - first);
                let local = &mut local[..rows * count];
                // SAFETY: the spectrum has `rows x columns` values, and
                // block `block` touches only its own columns.
                if gather {
                    unsafe { self.gather_block(shared, first, local) };
                }
                work(first, local, scratch);
                unsafe { self.scatter_block(shared, first, local) };
            },
        );
    }

    /// Scratch for either column FFT, in place.
    fn column_scratch_len(&self) -> usize {
        self.column_forward
            .get_inplace_scratch_len()
            .max(self.column_inverse.get_inplace_scratch_len())
    }

    /// Copies columns `first..` of every row of a row-major spectrum into
    /// the column-major `block` (`block.len() / height` columns).
    ///
    /// # Safety
    /// `spectrum` points at `height x columns` values, the columns fit, and
    /// no other thread touches them meanwhile.
    unsafe fn gather_block(&self, spectrum: SharedSpectrum, first: usize, block: &mut [Complex32]) {
        let (rows, columns) = (self.height, self.columns);
        let count = block.len() / rows;
        debug_assert!(first + count <= columns && block.len() == rows * count);
        for r in 0..rows {
            // SAFETY: as the caller promises; c < count, r < rows.
            unsafe {
                let row = spectrum.0.add(r * columns + first);
                for c in 0..count {
                    *block.get_unchecked_mut(c * rows + r) = *row.add(c);
                }
            }
        }
    }

    /// The inverse of [`Fft2d::gather_block`]: writes the block back.
    ///
    /// # Safety
    /// As for [`Fft2d::gather_block`].
    unsafe fn scatter_block(&self, spectrum: SharedSpectrum, first: usize, block: &[Complex32]) {
        let (rows, columns) = (self.height, self.columns);
        let count = block.len() / rows;
        debug_assert!(first + count <= columns && block.len() == rows * count);
        for r in 0..rows {
            // SAFETY: as the caller promises; c < count, r < rows.
            unsafe {
                let row = spectrum.0.add(r * columns + first);
                for c in 0..count {
                    *row.add(c) = *block.get_unchecked(c * rows + r);
                }
            }
        }
    }

    /// Forward column FFTs of a spectrum whose rows alone are transformed,
    /// in place: the second half of a forward transform.
    pub fn forward_columns(&self, rows_spectrum: &mut [Complex32]) {
        self.transform_columns(rows_spectrum, &self.column_forward);
    }

    /// The row half of the forward transform of an image that is zero
    /// except for the given (row index, row) pairs: their row spectra.
    pub fn forward_rows_sparse(&self, rows: &[(usize, Vec<f32>)]) -> SparseRows {
        let mut input = self.row_forward.make_input_vec();
        let mut scratch = self.row_forward.make_scratch_vec();
        let rows = rows
            .iter()
            .map(|(y, row)| {
                input.copy_from_slice(row);
                let mut out = self.row_forward.make_output_vec();
                let _ = self
                    .row_forward
                    .process_with_scratch(&mut input, &mut out, &mut scratch);
                (*y, out)
            })
            .collect();
        SparseRows { rows }
    }

    /// The samples of [`Fft2d::forward_rows_sampled`] for an image given by
    /// its sparse rows.
    pub fn sample_sparse_columns(&self, sparse: &SparseRows, stride: usize) -> Vec<Complex32> {
        let rows = self.height;
        let fold = Fold::new(rows, stride);
        let mut samples = vec![Complex32::default(); self.columns * fold.short];
        samples.par_chunks_mut(fold.short).enumerate().for_each_init(
            || vec![Complex32::default(); fold.fft.get_inplace_scratch_len()],
            |scratch, (kx, folded)| {
                for (y, row) in &sparse.rows {
                    folded[y % fold.short] += row[kx] * fold.factor(*y, kx % stride);
                }
                fold.fft.process_with_scratch(folded, scratch);
            },
        );
        samples
    }

    /// A 2D filter applied to row-transformed spectra in one pass over
    /// their columns: per block of columns, the kernel's transfer function
    /// `H` is made from its sparse rows, each spectrum's block is gathered,
    /// transformed, multiplied by `gain(ky, kx, H)`, transformed back and
    /// scattered in place. With the row passes before and after, this is
    /// the whole filtered round trip, and no full spectrum or transfer
    /// function is ever stored.
    pub fn filter_columns_fused(
        &self,
        spectra: &mut [Vec<Complex32>],
        kernel: &SparseRows,
        gain: impl Fn(usize, usize, Complex32) -> Complex32 + Sync,
    ) {
        let (rows, columns) = (self.height, self.columns);
        let shared: Vec<SharedSpectrum> = spectra
            .iter_mut()
            .map(|s| {
                assert_eq!(s.len(), self.spectrum_len());
                SharedSpectrum(s.as_mut_ptr())
            })
            .collect();
        let blocks = columns.div_ceil(COLUMN_BLOCK);
        let scratch_len = self.column_scratch_len();
        (0..blocks).into_par_iter().for_each_init(
            || {
                (
                    vec![Complex32::default(); rows * COLUMN_BLOCK],
                    vec![Complex32::default(); rows * COLUMN_BLOCK],
                    vec![Complex32::default(); scratch_len],
                )
            },
            |(gains, local, scratch), block| {
                let first = block * COLUMN_BLOCK;
                let count = COLUMN_BLOCK.min(columns - first);
                let (gains, local) = (&mut gains[..rows * count], &mut local[..rows * count]);
                gains.fill(Complex32::default());
                kernel.fill_block(first, rows, gains);
                self.column_forward.process_with_scratch(gains, scratch);
                for (c, column) in gains.chunks_exact_mut(rows).enumerate() {
                    for (ky, h) in column.iter_mut().enumerate() {
                        *h = gain(ky, first + c, *h);
                    }
                }
                for &base in &shared {
                    // SAFETY: each spectrum has `rows x columns` values, and
                    // block `block` touches only its own columns.
                    unsafe { self.gather_block(base, first, local) };
                    self.column_forward.process_with_scratch(local, scratch);
                    local.iter_mut().zip(gains.iter()).for_each(|(v, g)| *v *= g);
                    self.column_inverse.process_with_scratch(local, scratch);
                    unsafe { self.scatter_block(base, first, local) };
                }
            },
        );
    }

    /// Row half of the forward transform: each row of `image` becomes its
    /// real FFT in the same row of `rows_spectrum` (columns untransformed).
    pub fn forward_rows(&self, image: &[f32], rows_spectrum: &mut [Complex32]) {
        assert_eq!(image.len(), self.height * self.width, "image size must match the plan");
        let width = self.width;
        self.forward_rows_with(rows_spectrum, |y, row| {
            row.copy_from_slice(&image[y * width..(y + 1) * width])
        });
    }

    /// Row half of the forward transform of an image whose row `y` is
    /// written by `fill(y, row)`: a caller that builds its rows (padding,
    /// say) does it while they are in cache, with no plane of its own.
    pub fn forward_rows_with(&self, rows_spectrum: &mut [Complex32], fill: impl Fn(usize, &mut [f32]) + Sync) {
        assert_eq!(rows_spectrum.len(), self.spectrum_len());
        let row_fft = &self.row_forward;
        rows_spectrum.par_chunks_mut(self.columns).enumerate().for_each_init(
            || (row_fft.make_input_vec(), row_fft.make_scratch_vec()),
            |(input, scratch), (y, out)| {
                fill(y, input);
                // Zero rows are common in placed kernels.
                if input.iter().all(|v| *v == 0.0) {
                    out.fill(Complex32::default());
                    return;
                }
                // Lengths come from the plan itself, so this cannot fail.
                let _ = row_fft.process_with_scratch(input, out, scratch);
            },
        );
    }

    /// [`Fft2d::forward_rows_with`] that also returns values of the 2D
    /// spectrum on a grid: in each column `kx`, the rows `kx % stride`, then
    /// every `stride`-th (`stride` divides the height), column by column,
    /// without a column pass or a full spectrum.
    ///
    /// With `N = stride * L` rows, the samples of a column `x` at rows
    /// `o + m * stride` are the `L`-point FFT of the column folded onto
    /// itself, `y[n] = sum_q x[n + q L] w^((n + q L) o)` with
    /// `w = exp(-2 pi i / N)`. Each row is folded in as it leaves the row
    /// FFT, still in cache: reading the columns back would cost as much as
    /// a column pass. The rows go in a fixed number of chunks, each with its
    /// own sums added in order, so the result does not depend on threads.
    pub fn forward_rows_sampled(
        &self,
        rows_spectrum: &mut [Complex32],
        fill: impl Fn(usize, &mut [f32]) + Sync,
        stride: usize,
    ) -> Vec<Complex32> {
        const CHUNKS: usize = 8;
        assert_eq!(rows_spectrum.len(), self.spectrum_len());
        let (rows, columns) = (self.height, self.columns);
        let fold = Fold::new(rows, stride);
        let short = fold.short;
        let row_fft = &self.row_forward;
        let chunk_rows = rows.div_ceil(CHUNKS);
        // Per chunk, folded sums laid out [n][kx] so each row adds in order.
        let partials: Vec<Vec<Complex32>> = rows_spectrum
            .par_chunks_mut(chunk_rows * columns)
            .enumerate()
            .map(|(chunk, part)| {
                let mut sums = vec![Complex32::default(); short * columns];
                let (mut input, mut scratch) = (row_fft.make_input_vec(), row_fft.make_scratch_vec());
                let mut factors = vec![Complex32::default(); stride];
                for (j, out) in part.chunks_exact_mut(columns).enumerate() {
                    let y = chunk * chunk_rows + j;
                    fill(y, &mut input);
                    // Lengths come from the plan itself, so this cannot fail.
                    let _ = row_fft.process_with_scratch(&mut input, out, &mut scratch);
                    // Column kx's factor for this row: w^(y (kx mod stride)).
                    for (o, factor) in factors.iter_mut().enumerate() {
                        *factor = fold.factor(y, o);
                    }
                    let target = &mut sums[(y % short) * columns..(y % short + 1) * columns];
                    for (sum, value) in target.chunks_mut(stride).zip(out.chunks(stride)) {
                        for ((s, v), f) in sum.iter_mut().zip(value).zip(&factors) {
                            *s += v * f;
                        }
                    }
                }
                sums
            })
            .collect();
        let mut total = vec![Complex32::default(); short * columns];
        for partial in &partials {
            total.iter_mut().zip(partial).for_each(|(t, p)| *t += p);
        }
        let mut samples = vec![Complex32::default(); columns * short];
        samples.par_chunks_mut(short).enumerate().for_each_init(
            || vec![Complex32::default(); fold.fft.get_inplace_scratch_len()],
            |scratch, (kx, folded)| {
                for (n, value) in folded.iter_mut().enumerate() {
                    *value = total[n * columns + kx];
                }
                fold.fft.process_with_scratch(folded, scratch);
            },
        );
        samples
    }

    /// Filters along columns a spectrum whose rows alone are transformed:
    /// forward column FFT, multiplication by `filter`, inverse column FFT,
    /// one column block at a time. With [`Fft2d::forward_rows`] before and
    /// the row inverse after, this is a 2D circular convolution at the cost
    /// of one pass over memory for the columns instead of three.
    pub fn filter_columns(&self, rows_spectrum: &mut [Complex32], filter: &ColumnFilter) {
        assert_eq!(
            filter.values.len(),
            self.spectrum_len(),
            "filter size must match the plan"
        );
        let rows = self.height;
        self.for_column_blocks(rows_spectrum, true, |first, local, scratch| {
            self.column_forward.process_with_scratch(local, scratch);
            let gains = &filter.values[first * rows..first * rows + local.len()];
            local.iter_mut().zip(gains).for_each(|(v, g)| *v *= g);
            self.column_inverse.process_with_scratch(local, scratch);
        });
    }

    /// Inverse column FFTs of a full spectrum, each frequency multiplied by
    /// `gain(index)` as the columns are gathered, written to `rows_spectrum`
    /// (rows still transformed; `spectrum` is unchanged). The gain is made
    /// per block: no spectrum-sized filter is written and read back.
    pub fn inverse_columns_gained(
        &self,
        spectrum: &[Complex32],
        gain: impl Fn(usize) -> Complex32 + Sync,
        rows_spectrum: &mut [Complex32],
    ) {
        assert_eq!(spectrum.len(), self.spectrum_len());
        let (rows, columns) = (self.height, self.columns);
        self.for_column_blocks(rows_spectrum, false, |first, local, scratch| {
            let count = local.len() / rows;
            assert!(local.len() == rows * count && count <= COLUMN_BLOCK);
            for r in 0..rows {
                let start = r * columns + first;
                for (c, value) in spectrum[start..start + count].iter().enumerate() {
                    // SAFETY: c < count and r < rows, checked above.
                    unsafe { *local.get_unchecked_mut(c * rows + r) = value * gain(start + c) };
                }
            }
            self.column_inverse.process_with_scratch(local, scratch);
        });
    }

    /// Row half of the inverse transform, then `visit(row, plane row)` on
    /// each real row (normalized), then the row half of the forward
    /// transform of what `visit` left in the row. `plane` is a companion
    /// image of the domain's size, handed over row by row.
    pub fn rows_round_trip(
        &self,
        rows_spectrum: &mut [Complex32],
        plane: &mut [f32],
        visit: impl Fn(&mut [f32], &mut [f32]) + Sync,
    ) {
        assert_eq!(rows_spectrum.len(), self.spectrum_len());
        assert_eq!(plane.len(), self.height * self.width);
        let scale = 1.0 / (self.height * self.width) as f32;
        let (inverse, forward) = (&self.row_inverse, &self.row_forward);
        let even = self.width.is_multiple_of(2);
        rows_spectrum
            .par_chunks_mut(self.columns)
            .zip(plane.par_chunks_mut(self.width))
            .for_each_init(
                || {
                    let scratch = inverse.get_scratch_len().max(forward.get_scratch_len());
                    (forward.make_input_vec(), vec![Complex32::default(); scratch])
                },
                |(real, scratch), (spectrum_row, plane_row)| {
                    clear_real_bins(spectrum_row, even);
                    let _ = inverse.process_with_scratch(spectrum_row, real, scratch);
                    real.iter_mut().for_each(|v| *v *= scale);
                    visit(real, plane_row);
                    let _ = forward.process_with_scratch(real, spectrum_row, scratch);
                },
            );
    }

    /// Row half of the inverse transform (normalized) for the rows in
    /// `rows`, each handed to `visit(real row, output row)`, where `output`
    /// holds one row of any width per visited row. `rows_spectrum` is used
    /// as working memory.
    pub fn inverse_rows_into(
        &self,
        rows_spectrum: &mut [Complex32],
        rows: std::ops::Range<usize>,
        output: &mut [f32],
        visit: impl Fn(&[f32], &mut [f32]) + Sync,
    ) {
        assert_eq!(rows_spectrum.len(), self.spectrum_len());
        assert!(rows.end <= self.height && !rows.is_empty());
        assert!(output.len().is_multiple_of(rows.len()));
        let output_width = output.len() / rows.len();
        let scale = 1.0 / (self.height * self.width) as f32;
        let row_fft = &self.row_inverse;
        let even = self.width.is_multiple_of(2);
        rows_spectrum[rows.start * self.columns..rows.end * self.columns]
            .par_chunks_mut(self.columns)
            .zip(output.par_chunks_mut(output_width))
            .for_each_init(
                || (vec![0.0f32; self.width], row_fft.make_scratch_vec()),
                |(real, scratch), (spectrum_row, output_row)| {
                    clear_real_bins(spectrum_row, even);
                    let _ = row_fft.process_with_scratch(spectrum_row, real, scratch);
                    real.iter_mut().for_each(|v| *v *= scale);
                    visit(real, output_row);
                },
            );
    }
}

/// What [`Fft2d::forward_rows_sampled`] needs to fold columns of `rows` values
/// onto `short = rows / stride` of them and transform those.
struct Fold {
    rows: usize,
    short: usize,
    fft: Arc<dyn Fft<f32>>,
    /// `w^k` for k < rows, `w = exp(-2 pi i / rows)`, computed in f64.
    twiddles: Vec<Complex32>,
}

impl Fold {
    fn new(rows: usize, stride: usize) -> Self {
        assert!(
            stride > 0 && rows.is_multiple_of(stride),
            "the stride must divide the height"
        );
        let short = rows / stride;
        let twiddles = (0..rows)
            .map(|k| {
                let angle = -std::f64::consts::TAU * k as f64 / rows as f64;
                Complex32::new(angle.cos() as f32, angle.sin() as f32)
            })
            .collect();
        Fold {
            rows,
            short,
            fft: FftPlanner::new().plan_fft_forward(short),
            twiddles,
        }
    }

    /// The factor of row `y` in the fold of a column with offset `o`: w^(y o).
    #[inline]
    fn factor(&self, y: usize, o: usize) -> Complex32 {
        self.twiddles[(y * o) % self.rows]
    }
}

/// A real signal's DC (and, for even lengths, Nyquist) bins are real: drop
/// the rounding residue the inverse real FFT would reject.
#[inline]
fn clear_real_bins(row: &mut [Complex32], even: bool) {
    row[0].im = 0.0;
    if even {
        let last = row.len() - 1;
        row[last].im = 0.0;
    }
}

/// The row spectra of an image that is zero outside a few rows (a placed
/// kernel), with their row indices: [`Fft2d::forward_rows_sparse`].
pub struct SparseRows {
    rows: Vec<(usize, Vec<Complex32>)>,
}

impl SparseRows {
    /// Writes the columns from `first` on of the rows into a zeroed
    /// column-major block of `height`-long columns.
    fn fill_block(&self, first: usize, height: usize, block: &mut [Complex32]) {
        let count = block.len() / height;
        for (y, row) in &self.rows {
            for (c, value) in row[first..first + count].iter().enumerate() {
                block[c * height + y] = *value;
            }
        }
    }
}

/// A filter on a spectrum, stored column by column as
/// [`Fft2d::filter_columns`] reads it.
pub struct ColumnFilter {
    values: Vec<Complex32>,
}

impl ColumnFilter {
    /// `gain(value)` of each frequency of a row-major `spectrum` of `fft`'s size.
    pub fn new(fft: &Fft2d, spectrum: &[Complex32], gain: impl Fn(usize, Complex32) -> Complex32 + Sync) -> Self {
        assert_eq!(spectrum.len(), fft.spectrum_len());
        let (rows, columns) = (fft.height, fft.columns);
        let mut values = vec![Complex32::default(); spectrum.len()];
        // A block of columns at a time, read row by row: reading one column
        // alone would touch a new cache line (and page) per value.
        values
            .par_chunks_mut(rows * COLUMN_BLOCK)
            .enumerate()
            .for_each(|(block, out)| {
                let first = block * COLUMN_BLOCK;
                let count = out.len() / rows;
                for r in 0..rows {
                    let start = r * columns + first;
                    for (c, value) in spectrum[start..start + count].iter().enumerate() {
                        out[c * rows + r] = gain(start + c, *value);
                    }
                }
            });
        ColumnFilter { values }
    }
}

/// Smallest n' >= n whose prime factors are 2, 3, 5 and 7 (fast FFT sizes).
pub fn fast_size(n: usize) -> usize {
    smooth_size(n, &[2, 3, 5, 7])
}

/// Smallest n' >= n whose prime factors are among `primes`.
fn smooth_size(n: usize, primes: &[usize]) -> usize {
    let mut m = n.max(1);
    loop {
        let mut k = m;
        for &p in primes {
            while k.is_multiple_of(p) {
                k /= p;
            }
        }
        if k == 1 {
            return m;
        }
        m += 1;
    }
}

/// Smallest even n' >= n whose prime factors are 2, 3 and 5: the padded
/// sizes of deconvolution, which runs many transforms of one size. rustfft's
/// radix-7 passes made a 1600x2100 transform slower than a 1600x2160 one on
/// the development machine (`examples/fft_sizes.rs`).
pub fn fastest_even_size(n: usize) -> usize {
    smooth_even_size(n, &[2, 3, 5])
}

/// Smallest even fast size >= n (real FFTs are fastest on even lengths).
pub fn fast_even_size(n: usize) -> usize {
    smooth_even_size(n, &[2, 3, 5, 7])
}

/// Smallest even n' >= n whose prime factors are among `primes`.
fn smooth_even_size(n: usize, primes: &[usize]) -> usize {
    let mut m = smooth_size(n, primes);
    while m % 2 == 1 {
        m = smooth_size(m + 1, primes);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slow, obvious 2D DFT of a real image, returning full-size spectrum.
    fn naive_dft(image: &[f32], h: usize, w: usize) -> Vec<(f64, f64)> {
        let mut out = vec![(0.0, 0.0); h * w];
        for ky in 0..h {
            for kx in 0..w {
                let (mut re, mut im) = (0.0, 0.0);
                for y in 0..h {
                    for x in 0..w {
                        let phase =
                            -2.0 * std::f64::consts::PI * ((ky * y) as f64 / h as f64 + (kx * x) as f64 / w as f64);
                        re += image[y * w + x] as f64 * phase.cos();
                        im += image[y * w + x] as f64 * phase.sin();
                    }
                }
                out[ky * w + kx] = (re, im);
            }
        }
        out
    }

    fn seeded(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn forward_matches_naive_dft_and_inverse_round_trips() {
        for (h, w) in [(8, 8), (9, 12), (15, 7), (1, 6), (10, 1)] {
            let image = seeded(h * w, (h * 31 + w) as u64);
            let fft = plan(h, w);
            let spectrum = fft.forward(&image);
            let reference = naive_dft(&image, h, w);
            for ky in 0..h {
                for kx in 0..fft.columns {
                    let got = spectrum[fft.frequency(ky, kx)];
                    let want = reference[ky * w + kx];
                    assert!(
                        (got.re as f64 - want.0).abs() < 1e-4 && (got.im as f64 - want.1).abs() < 1e-4,
                        "{h}x{w} at ({ky},{kx})"
                    );
                }
            }
            let back = fft.inverse(&spectrum);
            for (a, b) in back.iter().zip(&image) {
                assert!((a - b).abs() < 1e-5);
            }
        }
    }

    /// The fused passes give what the plain transforms give.
    #[test]
    fn fused_passes_match_the_plain_transforms() {
        let (h, w) = (12, 10);
        let fft = plan(h, w);
        let image = seeded(h * w, 5);
        let kernel = seeded(h * w, 9);
        let otf = fft.forward(&kernel);
        let mut product = fft.forward(&image);
        product.iter_mut().zip(&otf).for_each(|(p, k)| *p *= k.conj());
        let want = fft.inverse(&product);

        // Row forward, column filter, row inverse.
        let filter = ColumnFilter::new(&fft, &otf, |_, k| k.conj());
        let mut rows_spectrum = vec![Complex32::default(); fft.spectrum_len()];
        fft.forward_rows(&image, &mut rows_spectrum);
        fft.filter_columns(&mut rows_spectrum, &filter);
        let mut got = vec![0.0; h * w];
        fft.inverse_rows_into(&mut rows_spectrum.clone(), 0..h, &mut got, |row, out| {
            out.copy_from_slice(row)
        });
        assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-4));

        // Filtered inverse of a full spectrum, cropped rows and columns.
        let mut work = vec![Complex32::default(); fft.spectrum_len()];
        fft.inverse_columns_gained(&fft.forward(&image), |i| otf[i].conj(), &mut work);
        let mut crop = vec![0.0; 5 * 4];
        fft.inverse_rows_into(&mut work, 3..8, &mut crop, |row, out| out.copy_from_slice(&row[2..6]));
        for y in 0..5 {
            for x in 0..4 {
                assert!((crop[y * 4 + x] - want[(y + 3) * w + x + 2]).abs() < 1e-4);
            }
        }
        // The fused one-pass filter from row-transformed planes and the
        // kernel's sparse rows (here rows 0, 4 and 11 of the plane).
        let sparse: Vec<(usize, Vec<f32>)> = [0, 4, 11].iter().map(|&y| (y, seeded(w, y as u64 + 3))).collect();
        let mut placed = vec![0.0; h * w];
        for (y, row) in &sparse {
            placed[y * w..(y + 1) * w].copy_from_slice(row);
        }
        let sparse_otf = fft.forward(&placed);
        let mut product = fft.forward(&image);
        product.iter_mut().zip(&sparse_otf).for_each(|(p, k)| *p *= k.conj());
        let want_sparse = fft.inverse(&product);
        let kernel_rows = fft.forward_rows_sparse(&sparse);
        let mut fused = vec![vec![Complex32::default(); fft.spectrum_len()]; 2];
        for rows in &mut fused {
            fft.forward_rows(&image, rows);
        }
        fft.filter_columns_fused(&mut fused, &kernel_rows, |_, _, h| h.conj());
        for rows in &mut fused {
            let mut got = vec![0.0; h * w];
            fft.inverse_rows_into(rows, 0..h, &mut got, |row, out| out.copy_from_slice(row));
            assert!(got.iter().zip(&want_sparse).all(|(a, b)| (a - b).abs() < 1e-4));
        }

        // Samples of the 2D spectrum taken in the row pass, or from sparse
        // rows, match the full transform's.
        let columns = fft.columns;
        let positions: Vec<usize> = (0..columns)
            .flat_map(|kx| (kx % 3..h).step_by(3).map(move |ky| ky * columns + kx))
            .collect();
        let mut image_rows = vec![Complex32::default(); fft.spectrum_len()];
        let picked = fft.forward_rows_sampled(
            &mut image_rows,
            |y, row| row.copy_from_slice(&image[y * w..(y + 1) * w]),
            3,
        );
        let mut plain_rows = vec![Complex32::default(); fft.spectrum_len()];
        fft.forward_rows(&image, &mut plain_rows);
        assert!(image_rows.iter().zip(&plain_rows).all(|(a, b)| (a - b).norm() < 1e-5));
        let full = fft.forward(&image);
        let picked_kernel = fft.sample_sparse_columns(&kernel_rows, 3);
        assert_eq!(picked.len(), positions.len());
        for (j, &i) in positions.iter().enumerate() {
            assert!((picked[j] - full[i]).norm() < 1e-4);
            assert!((picked_kernel[j] - sparse_otf[i]).norm() < 1e-4);
        }

        // A round trip through the rows that squares each sample.
        let mut companion = image.clone();
        fft.rows_round_trip(&mut rows_spectrum, &mut companion, |row, plane_row| {
            for (v, p) in row.iter_mut().zip(plane_row.iter_mut()) {
                *p = *v;
                *v *= *v;
            }
        });
        assert!(companion.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-4));
        // The columns' round trip supplies the other half of the normalization.
        fft.filter_columns(
            &mut rows_spectrum,
            &ColumnFilter::new(&fft, &otf, |_, _| Complex32::new(1.0, 0.0)),
        );
        let mut squared = vec![0.0; h * w];
        fft.inverse_rows_into(&mut rows_spectrum, 0..h, &mut squared, |row, out| {
            out.copy_from_slice(row)
        });
        assert!(squared.iter().zip(&want).all(|(a, b)| (a - b * b).abs() < 1e-4));
    }

    #[test]
    fn fast_sizes_have_small_factors() {
        assert_eq!(fast_size(1), 1);
        assert_eq!(fast_size(11), 12);
        assert_eq!(fast_size(97), 98);
        assert_eq!(fast_even_size(15), 16);
        assert_eq!(fast_even_size(27), 28);
        assert_eq!(fast_even_size(1001), 1008);
        assert_eq!(fastest_even_size(27), 30);
        assert_eq!(fastest_even_size(1001), 1024);
        assert_eq!(fastest_even_size(2100), 2160);
    }
}
