"""SSIM goldens for tests/unit/frontend/SsimTest.cpp, computed in float64 by
scikit-image (structural_similarity with gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, K1=0.01, K2=0.03): an implementation independent
of ours. Inputs are float32 values (what the compiled metric reads); the
reference runs on them converted to float64."""
import argparse
import json

import numpy as np
import skimage
from skimage.metrics import structural_similarity


def reference(x, y, data_range):
    """Per image: the mean over channels of scikit-image's SSIM (its mean
    leaves out the border where the 11x11 window does not fit)."""
    out = []
    for a, b in zip(x, y):
        per_channel = [
            structural_similarity(
                ca.astype(np.float64), cb.astype(np.float64),
                gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                K1=0.01, K2=0.03, data_range=data_range)
            for ca, cb in zip(a, b)]
        out.append(float(np.mean(per_channel)))
    return out


def case(name, rng, shape, data_range, kind):
    clean = rng.random(shape) * data_range
    if kind == "noisy":
        other = clean + rng.normal(0, 0.1 * data_range, shape)
    elif kind == "smooth":
        # a shifted and scaled copy: structure kept, luminance and contrast
        # changed (exercises C1 and C2 differently from noise)
        other = 0.7 * np.roll(clean, 1, axis=-1) + 0.2 * data_range
    else:
        other = rng.random(shape) * data_range
    x = clean.astype(np.float32)
    y = other.astype(np.float32)
    return {"name": name, "shape": list(shape), "data_range": data_range,
            "x": [float(v) for v in x.ravel()],
            "y": [float(v) for v in y.ravel()],
            "ssim": reference(x, y, data_range)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rng = np.random.default_rng(20040401)
    cases = [
        case("mnist-sized noisy", rng, (2, 1, 28, 28), 1.0, "noisy"),
        case("two channels, not square", rng, (1, 2, 16, 21), 1.0, "smooth"),
        case("window-sized, range 255", rng, (2, 1, 11, 11), 255.0, "random"),
    ]
    doc = {"generator": "scripts/golden/make_ssim_goldens.py, scikit-image "
                        + skimage.__version__ + ", numpy " + np.__version__,
           "cases": cases}
    with open(args.out, "w") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    main()
