"""Peer library reference for `npm run eval -- --peers`: trains one model of `implicit` 0.7.3
on the eval's training purchases and writes its top-N recommendations for the given users.

    python peers.py --train TRAIN.tsv --users USERS.txt --out OUT.json --model bm25|als
                    [--k 1000] [--k1 1.2] [--b 0.75]
                    [--factors 128] [--regularization 0.01] [--iterations 15] [--alpha 1.0]
                    [--top 20] [--seed 42]

TRAIN.tsv   lines `userId<TAB>productId<TAB>count`; ids are any strings without a tab or a newline
            (a trailing carriage return is dropped); repeated (user, product) pairs add up.
USERS.txt   one userId per line; users absent from TRAIN.tsv are skipped.
OUT.json    {"model", "params", "trainSeconds", "recommendations": {userId: [productId, ...]}}

Exit codes: 0 done, 2 bad arguments or unreadable input, 1 anything else.
"""

import os

# Threads, set before numpy loads (BLAS reads them once, when it starts):
# every BLAS and OpenMP pool gets one thread, and implicit is given num_threads=1 below.
# - ALS computes YtY with a BLAS matrix product; a threaded BLAS may split that sum differently
#   with the thread count, and a different rounding changes the factors and the order of near-tied
#   recommendations from one machine to the next. (implicit also warns that a threaded OpenBLAS
#   makes its training several times slower.)
# - implicit's own OpenMP loops hand whole rows (one user's factors, one item's neighbours, one
#   user's top-N) to each thread, so they should not depend on the thread count either; one thread
#   makes that true by construction rather than by reading the library's source. (Measured on
#   Online Retail, 3.3k users x 3.4k products: 1 and 2 threads gave bit-identical ALS factors and
#   identical lists for both models; 2 threads would train in about half the time, 0.3 s instead
#   of 0.5 s for BM25 and 0.55 s instead of 1.0 s for ALS, a saving not worth the guarantee.)
# These are set, not defaulted: a thread count inherited from the caller's shell must not change
# the reference numbers. OPENBLAS_CORETYPE (set on some machines to avoid broken kernels) is left
# exactly as it is.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_name] = "1"
IMPLICIT_THREADS = 1

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

MODELS = ("bm25", "als")

# Per-model options and their defaults; an option of the other model is an argument error.
MODEL_DEFAULTS = {
    "bm25": {"k": 1000, "k1": 1.2, "b": 0.75},
    "als": {"factors": 128, "regularization": 0.01, "iterations": 15, "alpha": 1.0},
}
COMMON_DEFAULTS = {"top": 20, "seed": 42}


class InputError(Exception):
    """A problem with the input files: reported like a bad argument (exit code 2)."""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0 or value > 2**32 - 1:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 2^32-1, got {text!r}")
    return value


def _float_type(low, high=math.inf, low_inclusive=True):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        above_low = value >= low if low_inclusive else value > low
        if not math.isfinite(value) or not above_low or value > high:
            bound = "[" if low_inclusive else "("
            top = "inf)" if math.isinf(high) else f"{high}]"
            raise argparse.ArgumentTypeError(f"expected a number in {bound}{low}, {top}, got {text!r}")
        return value

    return parse


def build_parser():
    parser = argparse.ArgumentParser(
        prog="peers.py",
        description="Train an `implicit` 0.7.3 recommender on purchase counts and write top-N lists.",
    )
    parser.add_argument("--train", required=True, help="TSV of userId, productId, count")
    parser.add_argument("--users", required=True, help="text file, one userId per line")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--model", required=True, choices=MODELS)
    bm25 = parser.add_argument_group("bm25 (item-item nearest neighbours on BM25-weighted counts)")
    bm25.add_argument("--k", type=_positive_int, help="neighbours kept per item (default 1000)")
    bm25.add_argument("--k1", type=_float_type(0.0), help="BM25 term saturation (default 1.2)")
    bm25.add_argument("--b", type=_float_type(0.0, 1.0), help="BM25 length normalisation (default 0.75)")
    als = parser.add_argument_group("als (implicit-feedback matrix factorisation)")
    als.add_argument("--factors", type=_positive_int, help="latent factors (default 128)")
    als.add_argument("--regularization", type=_float_type(0.0), help="L2 weight (default 0.01)")
    als.add_argument("--iterations", type=_positive_int, help="ALS sweeps (default 15)")
    als.add_argument(
        "--alpha", type=_float_type(0.0, low_inclusive=False), help="confidence = alpha * count (default 1.0)"
    )
    parser.add_argument("--top", type=_positive_int, help="items per user (default 20)")
    parser.add_argument("--seed", type=_non_negative_int, help="random seed of the ALS start (default 42)")
    return parser


def resolve_params(parser, args):
    """The model's parameters with defaults filled in; rejects options of the other model."""
    for other, defaults in MODEL_DEFAULTS.items():
        if other == args.model:
            continue
        given = [f"--{name}" for name in defaults if getattr(args, name) is not None]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            parser.error(f"{', '.join(given)} {verb} only to --model {other}, not to --model {args.model}")
    params = {}
    for name, default in {**MODEL_DEFAULTS[args.model], **COMMON_DEFAULTS}.items():
        value = getattr(args, name)
        params[name] = default if value is None else value
    if args.model == "bm25":
        # BM25 has no randomness: --seed is accepted (one command line for both models) but not
        # recorded, so OUT.json does not suggest that it mattered.
        del params["seed"]
    return params


def _read_lines(path):
    """Lines split on '\\n' only: ids may hold characters that str.splitlines would split on."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{path} is not UTF-8: {error}") from None
    for number, line in enumerate(text.split("\n"), start=1):
        if line.endswith("\r"):
            line = line[:-1]
        if line:
            yield number, line


def read_train(path):
    """(rows, cols, counts, user ids in first-seen order, product ids in first-seen order)."""
    user_index, item_index = {}, {}
    rows, cols, counts = [], [], []
    for number, line in _read_lines(path):
        fields = line.split("\t")
        if len(fields) != 3:
            raise InputError(f"{path}:{number}: expected userId<TAB>productId<TAB>count, got {len(fields)} fields")
        user, item, count_text = fields
        if not user or not item:
            raise InputError(f"{path}:{number}: empty userId or productId")
        try:
            count = float(count_text)
        except ValueError:
            raise InputError(f"{path}:{number}: count {count_text!r} is not a number") from None
        if not math.isfinite(count) or count <= 0:
            raise InputError(f"{path}:{number}: count must be a finite number > 0, got {count_text!r}")
        rows.append(user_index.setdefault(user, len(user_index)))
        cols.append(item_index.setdefault(item, len(item_index)))
        counts.append(count)
    if not counts:
        raise InputError(f"{path}: no training rows")
    return rows, cols, counts, list(user_index), list(item_index)


def read_users(path):
    seen = {}
    for _, line in _read_lines(path):
        seen.setdefault(line, None)
    return list(seen)


def build_model(model, params):
    if model == "bm25":
        from implicit.nearest_neighbours import BM25Recommender

        return BM25Recommender(K=params["k"], K1=params["k1"], B=params["b"], num_threads=IMPLICIT_THREADS)
    from implicit.als import AlternatingLeastSquares

    # implicit 0.7 applies the confidence scaling itself: fit() trains on alpha * user_items (and
    # recommend() scales the same way when it recomputes a user). Passing alpha here, not scaling
    # the matrix as well, keeps the scaling single. use_gpu stays off: the eval is CPU-only.
    return AlternatingLeastSquares(
        factors=params["factors"],
        regularization=params["regularization"],
        alpha=params["alpha"],
        iterations=params["iterations"],
        random_state=params["seed"],
        num_threads=IMPLICIT_THREADS,
        use_gpu=False,
    )


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    params = resolve_params(parser, args)

    try:
        rows, cols, counts, user_ids, item_ids = read_train(args.train)
        wanted = read_users(args.users)
    except InputError as error:
        print(f"peers.py: error: {error}", file=sys.stderr)
        return 2

    import numpy as np
    from scipy.sparse import coo_matrix

    shape = (len(user_ids), len(item_ids))
    # COO -> CSR adds up repeated (user, product) pairs; CSR also sorts each row's columns.
    user_items = coo_matrix(
        (np.asarray(counts, dtype=np.float32), (np.asarray(rows, dtype=np.int32), np.asarray(cols, dtype=np.int32))),
        shape=shape,
    ).tocsr()

    import warnings

    from implicit.utils import ParameterWarning

    # BM25Recommender.fit hands its own weighted COO matrix to the item-item fit, which then warns
    # about converting it to CSR: the library's internal step, not something the caller can change.
    warnings.filterwarnings("ignore", message="Method expects CSR input", category=ParameterWarning)

    model = build_model(args.model, params)
    started = time.perf_counter()
    model.fit(user_items, show_progress=False)
    train_seconds = time.perf_counter() - started

    user_position = {user: index for index, user in enumerate(user_ids)}
    known = [user for user in wanted if user in user_position]
    # top-N cannot exceed the catalogue; the library pads short lists with -1, dropped below.
    top = min(params["top"], len(item_ids))
    recommendations = {}
    started = time.perf_counter()
    if known:
        batch = np.asarray([user_position[user] for user in known], dtype=np.int32)
        ids, _scores = model.recommend(
            batch,
            user_items[batch],
            N=top,
            # A re-buying wholesaler: what a customer bought before is a fair recommendation.
            filter_already_liked_items=False,
        )
        for user, row in zip(known, np.asarray(ids)):
            recommendations[user] = [item_ids[int(index)] for index in row if index >= 0]
    recommend_seconds = time.perf_counter() - started

    result = {
        "model": args.model,
        "params": params,
        "trainSeconds": round(train_seconds, 4),
        "recommendations": recommendations,
    }
    temporary = f"{args.out}.partial"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(result, handle, ensure_ascii=False, separators=(",", ":"))
        os.replace(temporary, args.out)
    except OSError as error:
        if os.path.exists(temporary):
            os.remove(temporary)
        print(f"peers.py: error: cannot write {args.out}: {error.strerror or error}", file=sys.stderr)
        return 2

    print(
        f"peers.py: {args.model} on {shape[0]} users x {shape[1]} products ({user_items.nnz} pairs):"
        f" trained in {train_seconds:.2f}s, {len(recommendations)} of {len(wanted)} users"
        f" recommended in {recommend_seconds:.2f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
