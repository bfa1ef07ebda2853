//! Batching with dynamic padding.
//!
//! Texts are kept as unpadded id sequences (from [`crate::tokenize::TextEncoder`]); a batch is a
//! list of row indices, padded only when it is collated. Training batches are length-bucketed by
//! default: within large shuffled chunks the rows are sorted by length, so a batch holds rows of
//! similar length and little compute goes to padding, while batch order stays random. Evaluation
//! batches are simply sorted by length.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use textclf_models::EncodedBatch;

/// How far each batch is padded (`--padding`; declared with the other trainer settings).
pub use textclf_settings::train::Padding;

/// A bucket (chunk sorted by length) holds this many batches.
pub const BUCKET_BATCHES: usize = 50;

/// Mixes the epoch into the seed so that consecutive epochs get unrelated streams.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    // SplitMix64 finaliser of the epoch number.
    let mut z = (epoch as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    seed ^ (z ^ (z >> 31))
}

/// Batches of row indices for one training epoch.
///
/// Length-bucketed (`bucketed = true`, the default of the trainer): all indices are shuffled with
/// `ChaCha8Rng` seeded from `seed` and `epoch`, cut into chunks of `batch_size * 50`, each chunk
/// is sorted by length (stable), cut into batches of `batch_size`, and the batch order is
/// shuffled. Unbucketed: plain shuffled batches. The result depends only on
/// (`lengths`, `batch_size`, `bucketed`, `seed`, `epoch`). Every index appears exactly once; only
/// the last batch before the final shuffle may be smaller. A `batch_size` of 0 is treated as 1.
pub fn train_batches(
    lengths: &[usize],
    batch_size: usize,
    bucketed: bool,
    seed: u64,
    epoch: usize,
) -> Vec<Vec<usize>> {
    let batch_size = batch_size.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(epoch_seed(seed, epoch));
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.shuffle(&mut rng);
    if !bucketed {
        return order.chunks(batch_size).map(<[usize]>::to_vec).collect();
    }
    let mut batches: Vec<Vec<usize>> = Vec::with_capacity(lengths.len().div_ceil(batch_size));
    for chunk in order.chunks_mut(batch_size * BUCKET_BATCHES) {
        chunk.sort_by_key(|&i| lengths[i]);
        batches.extend(chunk.chunks(batch_size).map(<[usize]>::to_vec));
    }
    batches.shuffle(&mut rng);
    batches
}

/// Batches for evaluation and prediction: indices sorted by length, longest first (so a memory
/// problem shows up on the first batch), ties in index order. Every index appears exactly once;
/// the caller restores the original order. A `batch_size` of 0 is treated as 1.
pub fn eval_batches(lengths: &[usize], batch_size: usize) -> Vec<Vec<usize>> {
    let batch_size = batch_size.max(1);
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    order.chunks(batch_size).map(<[usize]>::to_vec).collect()
}

/// Padded length of a batch whose longest sequence has `longest` tokens. With
/// [`Padding::MaxLen`] a sequence longer than `max_len` is never cut: the batch takes its length.
fn padded_len(longest: usize, padding: Padding, max_len: usize) -> usize {
    match padding {
        Padding::Dynamic => longest,
        Padding::MaxLen => longest.max(max_len),
    }
}

/// Pads the sequences at `idx` to the batch maximum ([`Padding::Dynamic`]) or to `max_len`
/// ([`Padding::MaxLen`]) with `pad_id` on the right. `mask` is 1 for real tokens and 0 for
/// padding; `type_ids` are all 0. Rows are in `idx` order.
pub fn collate(
    seqs: &[Vec<u32>],
    idx: &[usize],
    pad_id: u32,
    padding: Padding,
    max_len: usize,
) -> EncodedBatch {
    collate_typed(seqs, None, idx, pad_id, padding, max_len)
}

/// [`collate`] with each sequence's token types (`types[i]` as long as `seqs[i]`; the
/// segments of a sentence pair), padded with 0; all 0 without them.
pub fn collate_typed(
    seqs: &[Vec<u32>],
    types: Option<&[Vec<u32>]>,
    idx: &[usize],
    pad_id: u32,
    padding: Padding,
    max_len: usize,
) -> EncodedBatch {
    let longest = idx.iter().map(|&i| seqs[i].len()).max().unwrap_or(0);
    let len = padded_len(longest, padding, max_len);
    let batch = idx.len();
    let mut ids = Vec::with_capacity(batch * len);
    let mut mask = Vec::with_capacity(batch * len);
    for &i in idx {
        let seq = &seqs[i];
        ids.extend_from_slice(seq);
        ids.resize(ids.len() + len - seq.len(), pad_id);
        mask.resize(mask.len() + seq.len(), 1);
        mask.resize(mask.len() + len - seq.len(), 0);
    }
    let type_ids = match types {
        Some(t) => {
            let mut out = Vec::with_capacity(batch * len);
            for &i in idx {
                out.extend_from_slice(&t[i]);
                out.resize(out.len() + len - t[i].len(), 0);
            }
            out
        }
        None => vec![0; batch * len],
    };
    EncodedBatch {
        batch,
        len,
        ids,
        mask,
        type_ids,
    }
}

/// Share of padded positions (0..1) over `batches`, for the "padding waste" report: 1 − real
/// tokens / padded positions. 0 when there is nothing.
pub fn padding_waste(
    lengths: &[usize],
    batches: &[Vec<usize>],
    padding: Padding,
    max_len: usize,
) -> f64 {
    let mut real = 0usize;
    let mut total = 0usize;
    for b in batches {
        let longest = b.iter().map(|&i| lengths[i]).max().unwrap_or(0);
        total += b.len() * padded_len(longest, padding, max_len);
        real += b.iter().map(|&i| lengths[i]).sum::<usize>();
    }
    if total == 0 {
        0.0
    } else {
        1.0 - real as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn random_lengths(n: usize, seed: u64) -> Vec<usize> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_range(5..=512)).collect()
    }

    fn assert_partition(batches: &[Vec<usize>], n: usize) {
        let mut seen = vec![0u32; n];
        for b in batches {
            assert!(!b.is_empty());
            for &i in b {
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1), "every index exactly once");
    }

    #[test]
    fn train_batches_cover_every_index_once() {
        for n in [0, 1, 7, 31, 32, 33, 1000, 3217] {
            let lengths = random_lengths(n, n as u64);
            for bucketed in [true, false] {
                let batches = train_batches(&lengths, 32, bucketed, 7, 3);
                assert_partition(&batches, n);
                assert_eq!(batches.len(), n.div_ceil(32));
                let small = batches.iter().filter(|b| b.len() < 32).count();
                assert!(small <= 1, "at most one short batch");
            }
        }
    }

    #[test]
    fn train_batches_deterministic_and_epoch_dependent() {
        let lengths = random_lengths(2000, 1);
        for bucketed in [true, false] {
            let a = train_batches(&lengths, 16, bucketed, 42, 0);
            let b = train_batches(&lengths, 16, bucketed, 42, 0);
            assert_eq!(a, b);
            let c = train_batches(&lengths, 16, bucketed, 42, 1);
            assert_ne!(a, c);
            let d = train_batches(&lengths, 16, bucketed, 43, 0);
            assert_ne!(a, d);
        }
    }

    #[test]
    fn bucketing_cuts_padding_waste() {
        let lengths = random_lengths(10_000, 5);
        let bucketed = train_batches(&lengths, 32, true, 1, 0);
        let plain = train_batches(&lengths, 32, false, 1, 0);
        let wb = padding_waste(&lengths, &bucketed, Padding::Dynamic, 512);
        let wp = padding_waste(&lengths, &plain, Padding::Dynamic, 512);
        assert!(wp > 0.3, "unbucketed waste {wp}");
        assert!(wb < wp / 10.0, "bucketed {wb} vs unbucketed {wp}");
        let wm = padding_waste(&lengths, &bucketed, Padding::MaxLen, 512);
        assert!(wm >= wp, "max-len waste {wm} vs dynamic {wp}");
    }

    #[test]
    fn bucketed_batches_are_not_ordered_by_length() {
        // The batch order is shuffled: the sequence of batch maxima is not sorted.
        let lengths = random_lengths(5000, 9);
        let batches = train_batches(&lengths, 8, true, 3, 0);
        let maxima: Vec<usize> = batches
            .iter()
            .map(|b| b.iter().map(|&i| lengths[i]).max().unwrap())
            .collect();
        assert!(!maxima.windows(2).all(|w| w[0] <= w[1]));
        assert!(!maxima.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn eval_batches_cover_all_sorted_descending() {
        for n in [0, 1, 5, 100, 257] {
            let lengths = random_lengths(n, 11);
            let batches = eval_batches(&lengths, 16);
            assert_partition(&batches, n);
            assert_eq!(batches.len(), n.div_ceil(16));
            let flat: Vec<usize> = batches.concat();
            assert!(flat.windows(2).all(|w| lengths[w[0]] >= lengths[w[1]]));
        }
    }

    #[test]
    fn collate_dynamic_pads_to_longest() {
        let seqs = vec![vec![101, 5, 102], vec![101, 6, 7, 8, 102], vec![101, 102]];
        let b = collate(&seqs, &[2, 0, 1], 0, Padding::Dynamic, 128);
        assert_eq!((b.batch, b.len), (3, 5));
        assert_eq!(
            b.ids,
            vec![101, 102, 0, 0, 0, 101, 5, 102, 0, 0, 101, 6, 7, 8, 102]
        );
        assert_eq!(b.mask, vec![1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
        assert_eq!(b.type_ids, vec![0; 15]);
    }

    #[test]
    fn collate_carries_token_types() {
        let seqs = vec![vec![101, 5, 102, 6, 102], vec![101, 7, 102, 8, 9, 102]];
        let types = vec![vec![0, 0, 0, 1, 1], vec![0, 0, 0, 1, 1, 1]];
        let b = collate_typed(&seqs, Some(&types), &[0, 1], 0, Padding::Dynamic, 16);
        assert_eq!(b.len, 6);
        assert_eq!(b.type_ids, vec![0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1]);
        assert_eq!(b.mask, vec![1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]);
    }

    #[test]
    fn collate_max_len_and_pad_id() {
        let seqs = vec![vec![0, 10, 2], vec![0, 2]];
        let b = collate(&seqs, &[0, 1], 1, Padding::MaxLen, 6);
        assert_eq!((b.batch, b.len), (2, 6));
        assert_eq!(b.ids, vec![0, 10, 2, 1, 1, 1, 0, 2, 1, 1, 1, 1]);
        assert_eq!(b.mask, vec![1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
        assert_eq!(b.ids.len(), b.batch * b.len);
        assert_eq!(b.type_ids.len(), b.batch * b.len);
        let one = collate(&seqs, &[1], 1, Padding::Dynamic, 6);
        assert_eq!((one.batch, one.len, one.ids), (1, 2, vec![0, 2]));
    }

    #[test]
    fn padding_waste_exact() {
        let lengths = vec![2, 4, 4, 1];
        let batches = vec![vec![0, 1], vec![2, 3]];
        // Dynamic: 2*4 + 2*4 = 16 positions, 11 real.
        let w = padding_waste(&lengths, &batches, Padding::Dynamic, 8);
        assert!((w - 5.0 / 16.0).abs() < 1e-12);
        // MaxLen: 4*8 = 32 positions.
        let w = padding_waste(&lengths, &batches, Padding::MaxLen, 8);
        assert!((w - 21.0 / 32.0).abs() < 1e-12);
        assert_eq!(padding_waste(&lengths, &[], Padding::Dynamic, 8), 0.0);
    }
}
