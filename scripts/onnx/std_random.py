"""The C++ standard library's std::mt19937_64 and std::seed_seq (both fixed
by the standard), and bregman's uses of them in data/lib/Dataset.cpp: the
training/validation split, each epoch's shuffle and the CIFAR-10 crop and
flip. scripts/onnx/check_training.py uses them to feed PyTorch exactly the
batches `bregman retrain` trains on."""

MASK32 = (1 << 32) - 1
MASK64 = (1 << 64) - 1


def seed_seq_generate(words, count):
    """std::seed_seq(words).generate of `count` 32-bit values ([rand.util.seedseq])."""
    n, s = count, len(words)
    out = [0x8B8B8B8B] * n
    t = 11 if n >= 623 else 7 if n >= 68 else 5 if n >= 39 else 3 if n >= 7 else (n - 1) // 2
    p = (n - t) // 2
    q = p + t
    m = max(s + 1, n)
    mix = lambda x: x ^ (x >> 27)
    for k in range(m):
        r1 = (1664525 * mix(out[k % n] ^ out[(k + p) % n] ^ out[(k - 1) % n])) & MASK32
        r2 = (r1 + (s if k == 0 else (k % n + words[k - 1]) if k <= s else k % n)) & MASK32
        out[(k + p) % n] = (out[(k + p) % n] + r1) & MASK32
        out[(k + q) % n] = (out[(k + q) % n] + r2) & MASK32
        out[k % n] = r2
    for k in range(m, m + n):
        r3 = (1566083941 * mix((out[k % n] + out[(k + p) % n] + out[(k - 1) % n]) & MASK32)) & MASK32
        r4 = (r3 - k % n) & MASK32
        out[(k + p) % n] ^= r3
        out[(k + q) % n] ^= r4
        out[k % n] = r4
    return out


class Mt19937_64:
    N, M = 312, 156
    UPPER, LOWER = MASK64 ^ ((1 << 31) - 1), (1 << 31) - 1

    def __init__(self, seed=None, seed_words=None):
        if seed_words is not None:  # the engine seeded by std::seed_seq(seed_words)
            a = seed_seq_generate([w & MASK32 for w in seed_words], 2 * self.N)
            self.x = [a[2 * i] | (a[2 * i + 1] << 32) for i in range(self.N)]
            if self.x[0] & self.UPPER == 0 and not any(self.x[1:]):
                self.x[0] = 1 << 63
        else:
            self.x = [seed & MASK64]
            for i in range(1, self.N):
                prev = self.x[-1]
                self.x.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & MASK64)
        self.i = self.N

    def _twist(self):
        x = self.x
        for i in range(self.N):
            y = (x[i] & self.UPPER) | (x[(i + 1) % self.N] & self.LOWER)
            x[i] = x[(i + self.M) % self.N] ^ (y >> 1) ^ (0xB5026F5AA96619E9 if y & 1 else 0)
        self.i = 0

    def __call__(self):
        if self.i >= self.N:
            self._twist()
        y = self.x[self.i]
        self.i += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & MASK64


def uniform_below(rng, bound):
    threshold = ((1 << 64) - bound) % bound
    while True:
        r = rng()
        if r >= threshold:
            return r % bound


def random_permutation(n, rng):
    perm = list(range(n))
    for i in range(n, 1, -1):
        j = uniform_below(rng, i)
        perm[i - 1], perm[j] = perm[j], perm[i - 1]
    return perm


def train_val_split(n, seed, val_fraction=0.05):
    """(training indices, validation indices), each sorted, as splitTrainVal."""
    n_val = int(round_half_away(val_fraction * n))
    perm = random_permutation(n, Mt19937_64(seed))
    return sorted(perm[n_val:]), sorted(perm[:n_val])


def round_half_away(v):
    """std::llround."""
    return int(v + 0.5) if v >= 0 else -int(-v + 0.5)


def _words(seed, *more):
    return [seed & MASK32, (seed >> 32) & MASK32] + list(more)


def epoch_order(count, seed, epoch):
    """The training Batcher's order in `epoch` (Batcher::startEpoch)."""
    rng = Mt19937_64(seed_words=_words(seed, epoch & MASK32, (epoch >> 32) & MASK32))
    return random_permutation(count, rng)


def crop_and_flip(seed, epoch, position, pad=4):
    """(dy, dx, flip) of Batcher::augment for the image at `position` of the epoch."""
    rng = Mt19937_64(seed_words=_words(seed, epoch & MASK32, position & MASK32, 0xA9))
    dy = rng() % (2 * pad + 1) - pad
    dx = rng() % (2 * pad + 1) - pad
    return dy, dx, bool(rng() & 1)
