"""Full-text search (issue 12): FTS5 next to a ``LIKE '%word%'`` scan, same rows, same run;
and how often cross-script folding makes different words collide.

    python -m bench.search_fts [--docs 100000] [--repeat 20]
    python -m bench.search_fts --collisions

The first builds a SQLCipher database (keyed, in a temporary directory) holding
``--docs`` synthetic reports in Kazakh, Russian, English and a mix, indexed with
``app.review.query``, and beside them a plain table of the same ``document_text`` for
``LIKE``. For each kind of query it runs ``--repeat`` different words and prints p50/p95
in milliseconds. ``LIKE`` is case-insensitive for ASCII only and knows no other script,
so it finds less; the table says how many rows each found.

``--collisions`` folds every distinct word of the project's catalogs
(translations/*/LC_MESSAGES/messages.po, kk, ru and en) and prints how many distinct
words share their key with another word, next to case folding and accent stripping alone.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import statistics
import tempfile
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

import sqlcipher3

from app.review import query as q
from app.store import fold, fulltext

ROOT = Path(__file__).resolve().parent.parent

#: (Cyrillic as written in a report, Latin as a coordinator might type it)
NAMES = [
    ("Жаңаөзен", "Zhanaozen"), ("Айгүл", "Aigul"), ("Қайрат", "Kairat"),
    ("Нұрсұлтан", "Nursultan"), ("Шымкент", "Shymkent"), ("Қарағанды", "Karaganda"),
    ("Жанна", "Zhanna"), ("Евгений", "Yevgeny"), ("Юлия", "Iuliia"), ("Щукин", "Shchukin"),
    ("Александр", "Aleksandr"), ("Алматы", "Almaty"), ("Ақтөбе", "Aqtobe"),
    ("Өскемен", "Oskemen"), ("Ерлан", "Yerlan"), ("Сәуле", "Saule"), ("Дәурен", "Dauren"),
    ("Фёдор", "Fyodor"), ("Мария", "Mariya"), ("Бақытжан", "Bakhytzhan"),
    ("Гүлнар", "Gulnar"), ("Тимур", "Timur"), ("Талдықорған", "Taldykorgan"),
    ("Семей", "Semey"), ("Атырау", "Atyrau"), ("Павлодар", "Pavlodar"),
]  # fmt: skip


def catalog_words() -> list[str]:
    """Distinct case-folded words of every msgid and msgstr of the three catalogs."""
    found: set[str] = set()
    for path in sorted(ROOT.glob("translations/*/LC_MESSAGES/messages.po")):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r'^(?:msgid|msgstr(?:\[\d\])?)?\s*"(.*)"$', line)
            if match:
                text = re.sub(r"%\(\w+\)[sd]|\{\w+\}|\\n|<[^>]+>", " ", match.group(1))
                found.update(w.casefold() for w in fold.words(text) if not w.isdigit())
    return sorted(found)


def _plain(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def collisions() -> None:
    vocabulary = catalog_words()
    print(f"{len(vocabulary)} distinct words (case-folded) from translations/*/messages.po")
    for name, key in (("casefold + strip accents", _plain), ("fold_word", fold.fold_word)):
        groups: dict[str, list[str]] = defaultdict(list)
        for word in vocabulary:
            groups[key(word)].append(word)
        shared = [g for g in groups.values() if len(g) > 1]
        words_shared = sum(len(g) for g in shared)
        print(
            f"{name:>26}: {len(groups)} keys; {words_shared} words"
            f" ({100 * words_shared / len(vocabulary):.1f}%) share a key with another word;"
            f" largest group {max(map(len, groups.values()))}"
        )
        if key is fold.fold_word:
            scripts = [g for g in shared if _mixed(g)]
            print(f"{'':>26}  of the shared keys, {len(scripts)} join Cyrillic and Latin words")
            for group in sorted(shared, key=len, reverse=True)[:8]:
                print(f"{'':>28}{key(group[0])}: {' '.join(group[:8])}")
            unrelated = [g for g in shared if not _inflections(g)]
            n = sum(len(g) for g in unrelated)
            print(
                f"{'':>26}  unrelated: {n} words ({100 * n / len(vocabulary):.1f}%) in"
                f" {len(unrelated)} keys where two words of one script differ before their"
                " last two letters (not one word's endings):"
            )
            for group in unrelated:
                print(f"{'':>28}{key(group[0])}: {' '.join(group[:8])}")


def _inflections(group: list[str]) -> bool:
    """Whether the words of each script in ``group`` are one word with other endings."""
    for script in ("[\u0400-\u04ff]", "[a-z]"):
        same = [_plain(w) for w in group if re.search(script, _plain(w))]
        for a, b in itertools.pairwise(same):
            common = len(_common_prefix(a, b))
            if common < max(3, min(len(a), len(b)) - 2):
                return False
    return True


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _mixed(group: list[str]) -> bool:
    cyrillic = any(re.search("[\u0400-\u04ff]", w) for w in group)
    return cyrillic and any(re.search("[a-z]", w) for w in group)


def synthetic_body(rng: random.Random, vocabulary: list[str]) -> dict[str, object]:
    cyr, lat = rng.choice(NAMES), rng.choice(NAMES)
    words = rng.choices(vocabulary, k=rng.randint(30, 80))
    words.insert(rng.randrange(len(words)), cyr[0] if rng.random() < 0.7 else cyr[1])
    return {
        "title": " ".join(rng.choices(vocabulary, k=6)),
        "description": " ".join(words),
        "place": rng.choice(NAMES)[0],
        "victims": [{"name": f"{lat[rng.random() < 0.5]} {rng.choice(NAMES)[0]}ова", "role": ""}],
        "legal": [{"code": "КоАП", "article": str(rng.randint(1, 500))}],
    }


def build(path: Path, docs: int, vocabulary: list[str]) -> sqlcipher3.Connection:
    conn = sqlcipher3.connect(str(path))
    conn.execute("PRAGMA key = \"x'" + "00" * 32 + "'\"")
    conn.executescript(fulltext.SCHEMA_SQL)
    conn.execute("CREATE TABLE plain(id TEXT PRIMARY KEY, text TEXT NOT NULL)")
    rng = random.Random(12)  # noqa: S311 - reproducible fake data
    start = time.perf_counter()
    for n in range(docs):
        body = synthetic_body(rng, vocabulary)
        fulltext.write(conn, f"r{n}", body)
        conn.execute("INSERT INTO plain VALUES (?, ?)", (f"r{n}", fulltext.document_text(body)))
    conn.commit()
    print(f"indexed {docs} reports in {time.perf_counter() - start:.1f} s", flush=True)
    return conn


def _time(conn: sqlcipher3.Connection, sql: str, param: str) -> tuple[float, int]:
    start = time.perf_counter()
    rows = conn.execute(sql, (param,)).fetchall()
    return (time.perf_counter() - start) * 1000, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--collisions", action="store_true")
    args = parser.parse_args()
    if args.collisions:
        collisions()
        return
    vocabulary = [w for w in catalog_words() if len(w) > 2]
    rng = random.Random(7)  # noqa: S311 - reproducible fake data
    kinds = {
        "one word (catalog word)": [rng.choice(vocabulary) for _ in range(args.repeat)],
        "prefix (first 4 letters)": [rng.choice(vocabulary)[:4] for _ in range(args.repeat)],
        "name, Cyrillic": [rng.choice(NAMES)[0] for _ in range(args.repeat)],
        "name, transliterated": [rng.choice(NAMES)[1] for _ in range(args.repeat)],
        "two words": [" ".join(rng.sample(vocabulary, 2)) for _ in range(args.repeat)],
    }
    with tempfile.TemporaryDirectory() as tmp:
        conn = build(Path(tmp) / "bench.db", args.docs, vocabulary)
        size = (Path(tmp) / "bench.db").stat().st_size / (1 << 20)
        print(f"database {size:.0f} MiB (FTS index + plain copy for LIKE)\n")
        print(f"{'query':<26} {'FTS p50':>8} {'p95':>7} {'rows':>7}  {'LIKE p50':>8} {'p95':>7} "
              f"{'rows':>7}")  # fmt: skip
        like_sql = "SELECT id FROM plain WHERE text LIKE ?"
        for kind, typed in kinds.items():
            fts, like = [], []
            fts_rows = like_rows = 0
            for text in typed:
                start = time.perf_counter()
                fts_rows += len(q.search(conn, text)[0])
                fts.append((time.perf_counter() - start) * 1000)
                first = text.split()[0]
                ms, n = _time(conn, like_sql, f"%{first}%")
                like.append(ms)
                like_rows += n
            print(
                f"{kind:<26} {statistics.median(fts):8.1f} {_p95(fts):7.1f}"
                f" {fts_rows // len(typed):7d}  {statistics.median(like):8.1f}"
                f" {_p95(like):7.1f} {like_rows // len(typed):7d}"
            )
        print("\nmilliseconds; rows = mean rows found per query (LIKE: first word only)")
        conn.close()


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


if __name__ == "__main__":
    main()
