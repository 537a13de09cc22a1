#!/usr/bin/env python3
"""EnergyFlow's side of `scripts/pixelate-bench.sh`: the same recipe as
`striate pixelate` (four-vectors -> ptyphims with phi_ref='hardest' ->
E-scheme centring -> rotation -> reflection -> pixelate), one jet after
another as EnergyFlow does it, timed; prints one JSON line with jets/s.

With --compare IMAGES.npy (what striate wrote for the same jets), also
prints the largest pixel difference over the jets timed.

Usage: pixelate_bench.py JETS.npy [--limit N] [--npix 40] [--width 0.8] [--compare out.npy]
Pinned: bench/pixelate-requirements.txt (energyflow==1.4.0).
"""
import argparse
import json
import time

import numpy as np
import energyflow as ef
from energyflow.utils import pixelate


def image(p4, npix, width):
    p4 = p4[p4[:, 0] > 0].astype(np.float64)
    P = ef.ptyphims_from_p4s(p4, phi_ref="hardest")
    P = ef.reflect_ptyphims(ef.rotate_ptyphims(ef.center_ptyphims(P, center="escheme")))
    try:
        return pixelate(P, npix=npix, img_width=width, nb_chan=1, norm=True)
    except (FloatingPointError, ZeroDivisionError):
        return None  # nothing lands in the image: striate skips such a jet too


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jets")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--npix", type=int, default=40)
    ap.add_argument("--width", type=float, default=0.8)
    ap.add_argument("--compare", default=None)
    a = ap.parse_args()
    jets = np.load(a.jets, mmap_mode="r")
    n = len(jets) if a.limit is None else min(a.limit, len(jets))
    start = time.perf_counter()
    images = [image(np.asarray(jets[i]), a.npix, a.width) for i in range(n)]
    seconds = time.perf_counter() - start
    images = [im for im in images if im is not None]
    out = {"jets": n, "skipped": n - len(images), "seconds": seconds, "jets_per_s": n / seconds,
           "energyflow": ef.__version__, "numpy": np.__version__}
    if a.compare:
        # striate writes [n, npix, npix, 1]; EnergyFlow's pixelate gives
        # [npix, npix] or [npix, npix, 1] a jet depending on its version.
        theirs = np.load(a.compare, mmap_mode="r")[:len(images)]
        mine = np.stack(images).reshape(theirs.shape)
        out["max_abs_diff"] = float(np.max(np.abs(mine - theirs)))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
