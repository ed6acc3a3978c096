"""
Find duplicate contacts: crmkit against splink (DuckDB) and recordlinkage.

The data is `crmkit.dedup.synthetic_contacts` (French and English contacts with
nicknames, typos, swapped names, dropped accents, phone formats, legal forms,
street abbreviations, blanked fields, upper case; and households, colleagues and
namesakes as hard negatives), generated once per size with a fixed seed and given
to every tool in the same run. Each tool runs in its own forked process, so its
peak RSS (``ru_maxrss``, data included; plus its largest worker process, if it
forks any: an upper bound, pages they share are counted twice) and CPU time
(user + system, all its threads and worker processes) are its own; on a shared
machine the CPU ratio is the steadier one. "peak PSS" is the largest sum of the
proportional set sizes of the tool's process and its workers, sampled every
50 ms: the memory they held together.

- crmkit: ``find_duplicates(records, workers=-1)`` with the default contact
  configuration, untuned (it fits its model to the data; it uses every core,
  as DuckDB does for splink: normalising and scoring are shared with a forked
  copy of the process per core);
- splink: DuckDB backend, the configuration of its deduplication tutorial
  adapted to these columns (``NameComparison`` on names, ``EmailComparison``,
  exact phone and postcode, Jaro-Winkler on street and company, exact city with
  term frequencies; blocking on names, email, phone and last name + postcode;
  prior from deterministic rules, u by random sampling, m by EM), clustered at 0.9;
- recordlinkage: blocking on last name + postcode, email and phone (union; the
  last name alone gives blocks of thousands at 100,000 records), Jaro-Winkler
  0.85 on names, exact email, phone and postcode, Levenshtein 0.85 on street,
  classified by its unsupervised ``ECMClassifier``, clustered by connected
  components.

The peers get the raw text lower-cased and trimmed, with phones as digits only;
crmkit gets the raw text. Scores are pairwise precision, recall and F1 against the
true people.

``--febrl`` runs the FEBRL deduplication sets that recordlinkage ships (1, 2
and 3) instead: crmkit with one FEBRL configuration (its columns differ from
contacts': date of birth, social security id, street number...), the same for
all three sets (address_1 and address_2 compared as one address, since FEBRL
moves lines between them); splink with the comparisons of its FEBRL example;
recordlinkage blocking on given name, surname and postcode.

Run from the repository root (bench extra installed)::

    .venv/bin/python benchmarks/bench_dedup.py --sizes 10000 [--tools crmkit,splink]
    .venv/bin/python benchmarks/bench_dedup.py --sizes 1000000 --peers-up-to 100000
    .venv/bin/python benchmarks/bench_dedup.py --febrl
    .venv/bin/python benchmarks/bench_dedup.py --sizes 100000 --rounds 3

``--rounds N`` runs the tools in turn N times and keeps each tool's fastest run
(as ``timeit`` keeps its best): on a shared machine a run of two seconds is
easily slowed by half by a neighbour, one of twelve less so.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import multiprocessing
import pickle
import platform
import re
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from queue import Empty
from typing import Any

from rich.console import Console
from rich.table import Table

from crmkit.dedup import (
    BlockingKey,
    Comparator,
    Comparison,
    Condition,
    DedupConfig,
    FellegiSunter,
    Field,
    FieldKind,
    KeyPart,
    KeyTransform,
    MatchingRules,
    RuleGroup,
    find_duplicates,
    pairwise_scores,
    synthetic_contacts,
)

FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "street",
    "city",
    "postal_code",
)
SEED = 20261122
Clusters = dict[str, str]


def _clean(
    records: Sequence[dict[str, str]], fields: Sequence[str] = FIELDS
) -> list[dict[str, Any]]:
    """Light cleaning for the peers: lower case, trimmed, phone digits, blank None."""
    rows = []
    for record in records:
        row: dict[str, Any] = {"unique_id": record["id"]}
        for field in fields:
            value = record.get(field, "").strip().lower()
            if field == "phone":
                value = re.sub(r"\D", "", value)
            row[field] = value or None
        rows.append(row)
    return rows


def _components(ids: Sequence[str], pairs: Sequence[tuple[str, str]]) -> Clusters:
    parent = {i: i for i in ids}

    def find(item: str) -> str:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {i: find(i) for i in ids}


def run_crmkit(records: Sequence[dict[str, str]]) -> Clusters:
    result = find_duplicates(records, workers=-1)
    return dict(zip(result.ids, result.cluster_ids, strict=True))


def run_splink(records: Sequence[dict[str, str]]) -> Clusters:
    import pandas as pd  # noqa: PLC0415 (a peer's dependency, loaded in its process)
    import splink.comparison_library as cl  # noqa: PLC0415
    from splink import Linker, SettingsCreator, block_on  # noqa: PLC0415
    from splink.backends.duckdb import DuckDBAPI  # noqa: PLC0415

    frame = pd.DataFrame(_clean(records))
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.JaroWinklerAtThresholds("street"),
            cl.JaroWinklerAtThresholds("company"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postal_code"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "last_name"),
            block_on("email"),
            block_on("phone"),
            block_on("last_name", "postal_code"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), settings, log_level="ERROR")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "last_name", "email"), block_on("phone", "last_name")],
        recall=0.7,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "last_name")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("phone")
    )
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, 0.9
    ).as_pandas_dataframe()
    found = dict(
        zip(
            clusters["unique_id"].astype(str),
            clusters["cluster_id"].astype(str),
            strict=True,
        )
    )
    return {r["id"]: found.get(r["id"], r["id"]) for r in records}


def run_recordlinkage(records: Sequence[dict[str, str]]) -> Clusters:
    import pandas as pd  # noqa: PLC0415 (a peer's dependency, loaded in its process)
    import recordlinkage as rl  # noqa: PLC0415

    frame = pd.DataFrame(_clean(records)).set_index("unique_id")
    indexer = rl.Index()
    indexer.block(["last_name", "postal_code"])
    indexer.block("email")
    indexer.block("phone")
    candidates = indexer.index(frame)
    compare = rl.Compare()
    compare.string("first_name", "first_name", method="jarowinkler", threshold=0.85)
    compare.string("last_name", "last_name", method="jarowinkler", threshold=0.85)
    compare.exact("email", "email")
    compare.exact("phone", "phone")
    compare.exact("postal_code", "postal_code")
    compare.string("street", "street", method="levenshtein", threshold=0.85)
    features = compare.compute(candidates, frame)
    matches = rl.ECMClassifier(binarize=0.5).fit_predict(features)
    pairs = [(str(a), str(b)) for a, b in matches]
    return _components([r["id"] for r in records], pairs)


FEBRL_FIELDS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)


def febrl_config() -> DedupConfig:
    """One crmkit configuration for the FEBRL columns, used as is on every set."""
    c, k, t = Comparator, FieldKind, KeyTransform
    kinds = {
        "given_name": k.GIVEN_NAME,
        "surname": k.FAMILY_NAME,
        "address": k.STREET,
    }
    fields = tuple(
        Field(name, kinds.get(name, k.TEXT)) for name in (*FEBRL_FIELDS, "address")
    )
    comparisons = (
        Comparison("given_name", c.NAME, (1.0, 0.9, 0.8)),
        Comparison("surname", c.JARO_WINKLER, (1.0, 0.9, 0.8), tf_adjust=True),
        Comparison("street_number", c.EXACT),
        Comparison("address", c.TOKEN_SET, (1.0, 0.85)),
        Comparison("suburb", c.JARO_WINKLER, (1.0, 0.88)),
        Comparison("postcode", c.LEVENSHTEIN, (1.0, 0.75)),
        Comparison("state", c.EXACT),
        Comparison("date_of_birth", c.LEVENSHTEIN, (1.0, 0.75)),
        Comparison("soc_sec_id", c.LEVENSHTEIN, (1.0, 0.85)),
    )
    m = {2: (0.8, 0.1, 0.1), 3: (0.8, 0.1, 0.05, 0.05), 1: (0.9, 0.1)}
    u = {2: (0.01, 0.02, 0.97), 3: (0.01, 0.01, 0.03, 0.95), 1: (0.05, 0.95)}
    key = KeyPart
    same = 0.85
    return DedupConfig(
        fields=fields,
        comparisons=comparisons,
        model=FellegiSunter(
            m=tuple(m[len(x.levels)] for x in comparisons),
            u=tuple(u[len(x.levels)] for x in comparisons),
        ),
        blocking=(
            BlockingKey(
                "names",
                (key("given_name", t.PHONETIC_EN), key("surname", t.PHONETIC_EN)),
                unordered=True,
            ),
            BlockingKey("soc_sec_id", (key("soc_sec_id"),)),
            BlockingKey("date_of_birth", (key("date_of_birth"),)),
            BlockingKey(
                "postcode+surname", (key("postcode"), key("surname", t.FIRST_LETTER))
            ),
            BlockingKey("address", (key("street_number"), key("address_1", t.FIRST_3))),
        ),
        rules=MatchingRules(
            (
                RuleGroup(
                    "names and birth",
                    (
                        Condition("given_name", c.NAME, same),
                        Condition("surname", c.JARO_WINKLER, same),
                        Condition("date_of_birth", c.LEVENSHTEIN, 0.75),
                    ),
                ),
                RuleGroup(
                    "names and id",
                    (
                        Condition("given_name", c.NAME, same),
                        Condition("surname", c.JARO_WINKLER, same),
                        Condition("soc_sec_id", c.LEVENSHTEIN, same),
                    ),
                ),
                RuleGroup(
                    "id and birth",
                    (
                        Condition("soc_sec_id", c.EXACT, 1.0),
                        Condition("date_of_birth", c.EXACT, 1.0),
                    ),
                ),
            )
        ),
        names=("given_name", "surname"),
        region=None,
    )


def run_crmkit_febrl(records: Sequence[dict[str, str]]) -> Clusters:
    # FEBRL moves lines between address_1 and address_2: compare them as one.
    joined = [
        {**r, "address": f"{r['address_1']} {r['address_2']}".strip()} for r in records
    ]
    result = find_duplicates(joined, febrl_config(), workers=-1)
    return dict(zip(result.ids, result.cluster_ids, strict=True))


def run_splink_febrl(records: Sequence[dict[str, str]]) -> Clusters:
    import pandas as pd  # noqa: PLC0415 (a peer's dependency, loaded in its process)
    import splink.comparison_library as cl  # noqa: PLC0415
    from splink import Linker, SettingsCreator, block_on  # noqa: PLC0415
    from splink.backends.duckdb import DuckDBAPI  # noqa: PLC0415

    frame = pd.DataFrame(_clean(records, FEBRL_FIELDS))
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.LevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1"),
            cl.LevenshteinAtThresholds("postcode", [1, 2]),
            cl.ExactMatch("suburb"),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            block_on("soc_sec_id"),
            block_on("date_of_birth"),
            block_on("postcode", "street_number"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(DuckDBAPI().register(frame), settings, log_level="ERROR")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "surname")
    )
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, 0.9
    ).as_pandas_dataframe()
    found = dict(
        zip(
            clusters["unique_id"].astype(str),
            clusters["cluster_id"].astype(str),
            strict=True,
        )
    )
    return {r["id"]: found.get(r["id"], r["id"]) for r in records}


def run_recordlinkage_febrl(records: Sequence[dict[str, str]]) -> Clusters:
    import pandas as pd  # noqa: PLC0415 (a peer's dependency, loaded in its process)
    import recordlinkage as rl  # noqa: PLC0415

    frame = pd.DataFrame(_clean(records, FEBRL_FIELDS)).set_index("unique_id")
    indexer = rl.Index()
    indexer.block("given_name")
    indexer.block("surname")
    indexer.block("postcode")
    candidates = indexer.index(frame)
    compare = rl.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85)
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85)
    compare.exact("date_of_birth", "date_of_birth")
    compare.exact("soc_sec_id", "soc_sec_id")
    compare.exact("suburb", "suburb")
    compare.exact("state", "state")
    compare.string("address_1", "address_1", threshold=0.85)
    features = compare.compute(candidates, frame)
    matches = rl.ECMClassifier(binarize=0.5).fit_predict(features)
    return _components(
        [r["id"] for r in records], [(str(a), str(b)) for a, b in matches]
    )


TOOLS: dict[str, Callable[[Sequence[dict[str, str]]], Clusters]] = {
    "crmkit": run_crmkit,
    "splink": run_splink,
    "recordlinkage": run_recordlinkage,
}
FEBRL_TOOLS: dict[str, Callable[[Sequence[dict[str, str]]], Clusters]] = {
    "crmkit": run_crmkit_febrl,
    "splink": run_splink_febrl,
    "recordlinkage": run_recordlinkage_febrl,
}
_DATA: list[dict[str, str]] = []
_OURS = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
_PSS_EVERY = 0.05  # seconds between samples of a tool's memory


def _cpu_seconds() -> float:
    """
    User and system CPU time of this process and of the processes it forked.

    All threads included; forked workers count once they have ended.
    """
    return sum(
        usage.ru_utime + usage.ru_stime for usage in map(resource.getrusage, _OURS)
    )


def _peak_kib() -> int:
    """
    Peak RSS: this process's, plus the largest of the processes it forked.

    An upper bound when workers ran beside it (pages they share are counted
    twice), never an underestimate.
    """
    return sum(usage.ru_maxrss for usage in map(resource.getrusage, _OURS))


def _child(tool: str, queue: Any, febrl: bool) -> None:
    # A private copy, made before timing: reading the parent's records would
    # copy their pages on the first reference count change, timed, at a cost
    # that weighs most on the fastest tool.
    records = pickle.loads(pickle.dumps(_DATA))  # noqa: S301 (our own data)
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    try:
        clusters = (FEBRL_TOOLS if febrl else TOOLS)[tool](records)
    except Exception as error:  # noqa: BLE001 (report a peer's failure, keep the run)
        queue.put((tool, None, 0.0, 0.0, 0, f"{type(error).__name__}: {error}"))
        return
    elapsed, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    queue.put((tool, clusters, elapsed, cpu, _peak_kib(), ""))


def _tree_pss_kib(pid: int) -> int:
    """
    The proportional set size of a process and of the processes it forked.

    A page shared by n processes counts 1/n in each, so the sum is the memory
    they hold together (Linux ``smaps_rollup``; 0 where it cannot be read).
    """
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    total = 0
    for member in (pid, *map(int, children)):
        try:
            rollup = Path(f"/proc/{member}/smaps_rollup").read_text()
        except OSError:  # ended meanwhile
            continue
        found = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
        total += int(found.group(1)) if found else 0
    return total


def _versions() -> str:
    names = ("rapidfuzz", "numpy", "splink", "duckdb", "recordlinkage", "pandas")
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def _febrl(number: int) -> tuple[str, list[dict[str, str]], dict[str, str]]:
    from recordlinkage import datasets  # noqa: PLC0415 (a peer ships the data)

    frame = getattr(datasets, f"load_febrl{number}")()
    records = []
    truth = {}
    for rec_id, row in frame.iterrows():
        record = {"id": str(rec_id)}
        for field in FEBRL_FIELDS:
            value = row[field]
            record[field] = "" if pd_isna(value) else str(value).strip()
        records.append(record)
        truth[str(rec_id)] = str(rec_id).split("-")[1]
    people = len(set(truth.values()))
    return f"FEBRL{number}: {len(records):,} records, {people:,} people", records, truth


def pd_isna(value: object) -> bool:
    """Whether a pandas cell is missing."""
    return value is None or (isinstance(value, float) and value != value)  # noqa: PLR0124 (NaN)


def _run_tool(context: Any, tool: str, febrl: bool) -> tuple[Any, ...]:
    """One run of a tool in a forked process: its figures, and its peak PSS."""
    queue = context.Queue()
    process = context.Process(target=_child, args=(tool, queue, febrl))
    process.start()
    peak_pss_kib = 0
    while True:
        try:
            outcome = queue.get(timeout=_PSS_EVERY)
            break
        except Empty:
            if not process.is_alive() and queue.empty():  # died without a word
                outcome = (tool, None, 0.0, 0.0, 0, f"exit code {process.exitcode}")
                break
            peak_pss_kib = max(peak_pss_kib, _tree_pss_kib(process.pid))
    process.join()
    return (*outcome[:5], peak_pss_kib, outcome[5])


def _compare_tools(
    title: str,
    records: list[dict[str, str]],
    truth: dict[str, str],
    tools: str,
    *,
    febrl: bool,
    peers_up_to: int | None,
    rounds: int,
) -> Table:
    _DATA[:] = records
    context = multiprocessing.get_context("fork")
    table = Table(title=title + (f", best of {rounds} runs" if rounds > 1 else ""))
    for column in (
        "tool",
        "time s",
        "CPU s",
        "peak RSS MiB",
        "peak PSS MiB",
        "precision",
        "recall",
        "F1",
        "time / crmkit",
        "CPU / crmkit",
    ):
        table.add_column(column, justify="right")
    base: tuple[float, float] | None = None
    skipped = [
        tool
        for tool in tools.split(",")
        if tool != "crmkit" and peers_up_to is not None and len(records) > peers_up_to
    ]
    runs: dict[str, list[tuple[Any, ...]]] = {tool: [] for tool in tools.split(",")}
    for _ in range(rounds):  # the tools in turn, so a slow spell hits them all
        for tool, tool_runs in runs.items():
            if tool not in skipped:
                tool_runs.append(_run_tool(context, tool, febrl))
    for tool, tool_runs in runs.items():
        if tool in skipped:
            table.add_row(tool, "skipped")
            table.caption = f"skipped: peers past --peers-up-to {peers_up_to:,} records"
            continue
        # The fastest run that succeeded (a failed run reports no time).
        name, clusters, elapsed, cpu, peak_kib, peak_pss_kib, error = min(
            tool_runs, key=lambda run: (run[1] is None, run[2])
        )
        if clusters is None:
            table.add_row(name, "failed", "", "", "", "", "", "", error[:40])
            continue
        scores = pairwise_scores(clusters, truth)
        base = (elapsed, cpu) if name == "crmkit" else base
        table.add_row(
            name,
            f"{elapsed:.1f}",
            f"{cpu:.1f}",
            f"{peak_kib / 1024:.0f}",
            f"{peak_pss_kib / 1024:.0f}",
            f"{scores.precision:.4f}",
            f"{scores.recall:.4f}",
            f"{scores.f1:.4f}",
            f"{elapsed / base[0]:.1f}x" if base else "",
            f"{cpu / base[1]:.1f}x" if base else "",
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="10000", help="comma-separated record counts"
    )
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--febrl", action="store_true", help="the FEBRL sets instead")
    parser.add_argument(
        "--peers-up-to",
        type=int,
        default=None,
        help="skip the peers on larger sets (crmkit still runs; the table says so)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run each tool this many times and keep its fastest run",
    )
    args = parser.parse_args()
    console = Console(width=140)
    console.print(
        f"Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, "
        f"{multiprocessing.cpu_count()} cores; {_versions()}"
    )
    datasets: list[tuple[str, list[dict[str, str]], dict[str, str]]] = []
    if args.febrl:
        datasets = [_febrl(number) for number in (1, 2, 3)]
    else:
        for size in (int(s) for s in args.sizes.split(",")):
            data = synthetic_contacts(size, seed=args.seed)
            people = len(set(data.truth.values()))
            title = f"{size:,} records, {people:,} people (seed {args.seed})"
            datasets.append((title, list(data.records), data.truth))
    for title, records, truth in datasets:
        console.print(
            _compare_tools(
                title,
                records,
                truth,
                args.tools,
                febrl=args.febrl,
                peers_up_to=args.peers_up_to,
                rounds=args.rounds,
            )
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
