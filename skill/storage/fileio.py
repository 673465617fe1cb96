"""Reading and writing the store's files: atomic, UTF-8, sorted keys, trailing newline.

Renderers elsewhere return strings; this module is the one place that turns a
string into a file, always through a temp file and a rename so that a reader
never sees half a file.
"""

from __future__ import annotations

import errno
import json
import math
import os
import secrets
import shutil
import stat
import time
from pathlib import Path
from typing import Any

import yaml

from ..errors import DamagedFile
from ..layout import CACHE_DIR, SPECWEAVE_DIR, TMP_DIR
from .cache_dir import ignore_cache

try:  # libyaml is an order of magnitude faster; fall back quietly.
    _YamlLoader: type = yaml.CSafeLoader
    _YamlDumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _YamlLoader, _YamlDumper = yaml.SafeLoader, yaml.SafeDumper

# JSON has no NaN or infinity; they are stored as these strings and read back as floats.
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def decode_number(value: Any) -> Any:
    """Turn a stored metric value back into a number (non-finite strings included)."""
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    return value


def to_jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars, paths, sets and non-finite floats to JSON-safe values.

    Raises TypeError for what has no faithful JSON form; callers decide what to do.
    """
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [to_jsonable(v) for v in items]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "isoformat"):  # datetime, date, pandas Timestamp and Timedelta
        return value.isoformat()
    # numpy and pandas scalars, without importing either: both offer .item().
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        return to_jsonable(item())
    if hasattr(value, "tolist"):  # numpy arrays and pandas Series
        return to_jsonable(value.tolist())
    raise TypeError(f"{type(value).__name__} has no JSON form")


def dumps_json(data: Any, *, indent: int | None = 2) -> str:
    """Canonical JSON text: sorted keys, UTF-8 characters kept, trailing newline."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, indent=indent, allow_nan=False) + "\n"


def dumps_jsonl_record(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"


def dumps_yaml(data: Any) -> str:
    """YAML in the order given (models define a readable order), block style, UTF-8."""
    return yaml.dump(
        data, Dumper=_YamlDumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )


def _temp_dir(path: Path) -> Path:
    """Where a temp file for `path` is made: the store's git-ignored cache/tmp for files of a store
    (so a process killed mid-write leaves nothing that `git add` picks up), else the target's folder."""
    known = _temp_dir_of.get(path.parent)
    if known is not None and known in _temp_dirs_made:
        return known
    found = _find_temp_dir(path)
    _temp_dir_of[path.parent] = found
    return found


_temp_dir_of: dict[Path, Path] = {}


def store_dir_of(path: Path) -> Path | None:
    """The `.specweave` folder that holds `path`, or None when it is outside any store."""
    for parent in (path, *path.parents):
        if parent.name == SPECWEAVE_DIR:
            return parent
    return None


# --- No link anywhere on the path -----------------------------------------------------------------
# Everything from `.specweave` down arrived by git, so any folder on the way to a file may be a symbolic link
# a clone committed (`.specweave -> ../other-project/.specweave`, `cache -> /tmp/x`, `experiments -> ~`).
# O_NOFOLLOW guards only the last part of a path; these checks guard the rest, for every reader and writer
# of the store (they all open, create or rename through this module). The folders above `.specweave` are the
# user's own choice (a project under a linked home folder is fine).

_SEP = os.sep
_STORE_PART = _SEP + SPECWEAVE_DIR


def _store_at(text: str) -> int:
    """Where the outermost `.specweave` folder on the path `text` ends (an index into it), or -1."""
    at = text.find(_STORE_PART)
    while at >= 0:
        end = at + len(_STORE_PART)
        if end == len(text) or text[end] == _SEP:
            return end
        at = text.find(_STORE_PART, end)
    return -1


def _outer_store(path: Path) -> Path | None:
    """The outermost `.specweave` folder on `path` (a folder named so inside a store is the clone's)."""
    text = os.fspath(path)
    end = _store_at(text)
    return Path(text[:end]) if end >= 0 else None


def linked_part(path: Path) -> Path | None:
    """The first of `.specweave` and the folders below it on the way to `path` (not `path` itself) that is a
    symbolic link, or None. A part that does not exist ends the check: nothing below it exists either.
    Plain string slicing and one lstat per folder: this runs for every file the store reads or writes."""
    text = os.path.abspath(path) if not os.path.isabs(path) else os.fspath(path)
    end = _store_at(text)
    if end < 0:
        return None
    last = text.rfind(_SEP)
    now = time.monotonic()
    if now - _checked.get(text[:last], -_RECHECK_S) < _RECHECK_S:
        return None
    lstat, islink = os.lstat, stat.S_ISLNK
    while True:
        prefix = text[:end]
        if now - _checked.get(prefix, -_RECHECK_S) >= _RECHECK_S:
            try:
                if islink(lstat(prefix).st_mode):
                    return Path(prefix)
            except (FileNotFoundError, NotADirectoryError):
                return None
            if len(_checked) > 50_000:
                _checked.clear()
            _checked[prefix] = now
        if end >= last:
            return None
        end = text.find(_SEP, end + 1)
        if end < 0 or end > last:
            return None


# Folders found not to be links, and when: reading a run's three files, or a thousand runs of one increment,
# checks each folder on the way once, not once per file. The threat is what a clone committed, which is on
# disk before any command starts; a second is far shorter than any `git pull` followed by a command.
_RECHECK_S = 1.0
_checked: dict[str, float] = {}


def refuse_linked_parts(path: Path) -> None:
    """DamagedFile (one line) when a folder on the way to `path`, `.specweave` included, is a symbolic link."""
    link = linked_part(path)
    if link is not None:
        raise DamagedFile(str(link), "is a symbolic link; refusing to read or write through it "
                                     "(replace it with a folder)")


def refuse_hard_linked(fd: int, path: Path) -> None:
    """DamagedFile when the open file has more than one hard link: writing to it in place (an append) would
    change the other names too, and reading it shows a file the store does not own."""
    if os.fstat(fd).st_nlink > 1:
        raise DamagedFile(str(path), "has more than one hard link; refusing to use a file shared with another "
                                     "path (copy it: `cp --remove-destination` or rewrite it)")


def make_store_dirs(folder: Path) -> Path:
    """Create `folder` (inside a store) and the folders above it down from `.specweave`, one at a time,
    refusing any part that is a symbolic link or not a folder (`mkdir(parents=True)` would create folders
    through a planted link before any check). Outside a store: a plain `mkdir(parents=True)`."""
    store = _outer_store(folder)
    if store is None:
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    if not os.path.isdir(store.parent):
        store.parent.mkdir(parents=True, exist_ok=True)  # the project root: the user's own folder
    current = store
    for step in ("", *folder.relative_to(store).parts):
        if step:
            current = current / step
        try:
            os.mkdir(current)
            continue
        except FileExistsError:
            pass
        mode = os.lstat(current).st_mode
        if stat.S_ISLNK(mode):
            raise DamagedFile(str(current), "is a symbolic link; refusing to read or write through it "
                                            "(replace it with a folder)")
        if not stat.S_ISDIR(mode):
            raise DamagedFile(str(current), "is not a folder")
    return folder


def _find_temp_dir(path: Path) -> Path:
    store = store_dir_of(path.parent)
    if store is None:
        return path.parent
    tmp = store / CACHE_DIR / TMP_DIR
    if tmp not in _temp_dirs_made:
        make_store_dirs(tmp)
        ignore_cache(tmp)
        _sweep_stale(tmp)
        _temp_dirs_made.add(tmp)
    return tmp


_temp_dirs_made: set[Path] = set()
STALE_TEMP_S = 3600.0


def _sweep_stale(folder: Path) -> None:
    """Once per process: remove temp files that a killed writer left (older than an hour, so that no
    write in progress in another process loses its file)."""
    cutoff = time.time() - STALE_TEMP_S
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
    except OSError:
        pass  # best effort: the cache is git-ignored either way


def _new_temp(folder: Path, name: str) -> tuple[int, str]:
    """Create `folder/.<name>.<random>.tmp` exclusively, mode 0666 less the umask: the file renamed
    into the repository gets the permissions any other tool gives a new file there (0644 under
    umask 022), where mkstemp's 0600 would make committed files private."""
    for _ in range(100):
        tmp = os.path.join(folder, f".{name[:60]}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                           | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


def temp_file_for(path: Path) -> tuple[int, str]:
    """An open temp file (fd, name) to be renamed over `path` by `replace_into`."""
    refuse_linked_parts(path)
    try:
        return _new_temp(_temp_dir(path), path.name)
    except FileNotFoundError:  # the cache was removed while this process ran
        _temp_dirs_made.clear()
        _temp_dir_of.clear()
        return _new_temp(_temp_dir(path), path.name)


def replace_into(tmp: str, path: Path) -> None:
    """Rename a temp file over `path`; the temp file is gone afterwards whatever happens.

    An OSError names `path`, never the temp file (`.<name>.XXXX.tmp` in the git-ignored cache): that name
    means nothing to the person reading the error."""
    try:
        try:
            refuse_linked_parts(path)  # checked again right before the rename: the cheapest guard
            os.replace(tmp, path)
        except OSError as exc:
            if exc.errno != errno.EXDEV:  # the cache on another file system: copy beside, then rename
                raise
            beside = path.parent / f".{path.name[:60]}.{os.getpid()}.tmp"
            try:
                shutil.copyfile(tmp, beside)
                os.replace(beside, path)
            except BaseException:
                try:
                    os.unlink(beside)
                except OSError:
                    pass
                raise
    except OSError as exc:
        named = exc.filename is None or str(exc.filename) == str(tmp) or (
            os.path.basename(str(exc.filename)).startswith(".") and str(exc.filename).endswith(".tmp"))
        if exc.errno is None or not named:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None  # same errno, same subclass
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def append_whole(fd: int, data: bytes, start: int) -> None:
    """Write all of `data` to `fd` (opened O_APPEND, `start` bytes long before). A short or failed write
    (a full disk) is truncated back to `start` and re-raised, so no half record is ever left for the next
    append to glue onto."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except OSError:
        try:
            os.ftruncate(fd, start)
        except OSError:
            pass
        raise


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write through a temp file and rename it over the target: a reader never sees half a file, and a
    failed write (a full disk) leaves the old file as it was and no temp file behind.

    An OSError (a full disk, a folder that cannot be written) names `path`, never the temp file."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        fd, tmp = temp_file_for(path)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        named = exc.filename is None or (
            os.path.basename(str(exc.filename)).startswith(".") and str(exc.filename).endswith(".tmp"))
        if exc.errno is None or not named:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None  # same errno, same subclass
    replace_into(tmp, path)


MAX_READ_BYTES = 16 << 20
"""The largest params.json, metrics.json or metadata.yaml read (they are a few kilobytes when written here)."""
MAX_DEPTH = 64
"""The deepest nesting of lists and mappings accepted (what the tracker writes is one or two deep)."""
MAX_YAML_EXPANDED = 100_000
"""With aliases, the most nodes (plus scalar characters / 64) the document may expand to."""
MAX_YAML_ALIASES = 1_000
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO planted in the store must not hang the open


def read_json(path: Path, max_bytes: int = MAX_READ_BYTES) -> Any:
    """A store JSON file, never through a link, at most `max_bytes`, nested at most MAX_DEPTH deep.

    Anything else (a link, a huge or deeply nested file, text that is not UTF-8 or not JSON) is a
    DamagedFile with a one-line problem, so one hostile file marks one experiment damaged.
    """
    return loads_bounded(decode_utf8(path, read_bytes_nofollow(path, max_bytes)), path)


def read_yaml(path: Path, max_bytes: int = MAX_READ_BYTES) -> Any:
    """A store YAML file, safe-loaded with the same bounds as `read_json`, aliases bounded too."""
    return load_yaml_text(decode_utf8(path, read_bytes_nofollow(path, max_bytes)), path)


def parse_jsonl(path: Path, text: str) -> tuple[list[dict[str, Any]], list[DamagedFile]]:
    """Parse JSON lines, keeping every good line and reporting each bad one.

    A process killed mid-write can leave a truncated last line; that line is
    reported, the rest of the file is still used. A line nested deeper than
    MAX_DEPTH (or that no parser could take) is reported like any other bad line.
    """
    records: list[dict[str, Any]] = []
    problems: list[DamagedFile] = []
    loads = json.loads
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = loads(line)
        except json.JSONDecodeError as exc:
            problems.append(DamagedFile(str(path), exc.msg, lineno))
            continue
        except (RecursionError, ValueError) as exc:
            problems.append(DamagedFile(str(path), _parse_problem(exc), lineno))
            continue
        if not isinstance(record, dict):
            problems.append(DamagedFile(str(path), "a line is not a JSON object", lineno))
        elif line.count("{") + line.count("[") > MAX_DEPTH and too_deep(record):
            problems.append(DamagedFile(str(path), TOO_DEEP, lineno))
        else:
            records.append(record)
    return records, problems


# --- Bounded, link-refusing reads ------------------------------------------------------------------
# Every file of the store that is read whole goes through these: a file planted in a cloned repository
# (a link out of the store, a FIFO, gigabytes, `[[[[...` 100,000 deep, a YAML alias bomb) becomes a
# DamagedFile with one line saying why, never a traceback, a hang, or gigabytes of memory.

# Opening with this flag fails (ELOOP) when the last part of the path is a symbolic link: a link planted
# in a cloned store never leads a reader or an appender out of it. Windows has no such flag (and
# creating links there needs privileges); an lstat check stands in.
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def open_nofollow(path: Path, flags: int = os.O_RDONLY, mode: int = 0o666) -> int:  # less the umask
    """os.open that refuses a symbolic link with DamagedFile (one line) instead of following it."""
    refuse_linked_parts(path)
    if not NOFOLLOW and os.path.islink(path):  # pragma: no cover - Windows
        raise DamagedFile(str(path), "is a symbolic link; refusing to follow it out of the store")
    try:
        fd = os.open(path, flags | NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DamagedFile(str(path), "is a symbolic link; refusing to follow it out of the store") from None
        raise
    if flags & (os.O_WRONLY | os.O_RDWR) and _outer_store(path) is not None:
        try:  # an append or an in-place write through a second name would change a file outside
            refuse_hard_linked(fd, path)
        except BaseException:
            os.close(fd)
            raise
    return fd


def read_text_nofollow(path: Path, max_bytes: int | None = MAX_READ_BYTES) -> str:
    """A store file's text (UTF-8): never through a link, only a regular file, bounded in size."""
    return decode_utf8(path, read_bytes_nofollow(path, max_bytes))


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= 1 << 20 else f"{n} bytes"


def too_large(size: int, limit: int) -> str:
    return f"too large ({_size(size)}; at most {_size(limit)} is read)"


def open_regular_nofollow(path: Path, *, shared_ok: bool = False) -> int:
    """A read-only descriptor of a regular file, refusing a link (DamagedFile) and anything that is not a
    plain file (a folder, a FIFO, a device), without blocking on a FIFO. A file of the store with more
    than one hard link is refused too, unless `shared_ok` (objects, which are checked by their hash)."""
    fd = open_nofollow(path, os.O_RDONLY | _NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise DamagedFile(str(path), "not a regular file; refusing to read it")
        if st.st_nlink > 1 and not shared_ok and _outer_store(path) is not None:  # git never makes one; a shared file is not ours
            refuse_hard_linked(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes_nofollow(path: Path, max_bytes: int | None = MAX_READ_BYTES) -> bytes:
    """A store file's bytes: never through a symbolic link, only a regular file, at most `max_bytes`
    (None: no bound). FileNotFoundError when it is missing; DamagedFile (one line) for the rest."""
    fd = open_regular_nofollow(path)
    with os.fdopen(fd, "rb") as handle:
        if max_bytes is None:
            return handle.read()
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise DamagedFile(str(path), too_large(size, max_bytes))
        # Ask for what the file holds (+1): read(n) allocates n bytes up front, and the bound is 64 MB.
        data = handle.read(size + 1)
        if len(data) > size:  # it grew since the fstat: read on, up to the bound
            data += handle.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        raise DamagedFile(str(path), too_large(len(data), max_bytes))
    return data


def decode_utf8(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DamagedFile(str(path), f"not UTF-8 ({exc.reason})") from None


_SEQUENCES = (list, tuple, set, frozenset)
_CONTAINERS = (dict, *_SEQUENCES)


def too_deep(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists/dicts nest deeper than `limit` (iterative: no recursion on hostile data)."""
    stack = [(data, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, _SEQUENCES) else None
        if children is None:
            continue
        if depth > limit:
            return True
        for child in children:
            if isinstance(child, _CONTAINERS):
                push((child, depth + 1))
    return False


def _parse_problem(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return TOO_DEEP
    first = str(exc).splitlines()[0].split("; ")[0] if str(exc) else type(exc).__name__
    return first if len(first) <= 200 else first[:197] + "..."


def loads_bounded(text: str, path: Path, line: int | None = None) -> Any:
    """json.loads with the store's bounds: DamagedFile (one line) for bad JSON, too deep a nesting,
    or what the parser itself refuses (an integer of more than 4300 digits)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DamagedFile(str(path), exc.msg, line or exc.lineno) from None
    except (RecursionError, ValueError) as exc:
        raise DamagedFile(str(path), _parse_problem(exc), line) from None
    if text.count("{") + text.count("[") > MAX_DEPTH and too_deep(data):
        raise DamagedFile(str(path), TOO_DEEP, line)
    return data


def _yaml_children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(node, yaml.MappingNode):
        return [part for pair in value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(value)
    return []


def _yaml_bound_problem(root: Any) -> str | None:
    """Why a composed YAML node graph must not be constructed (None: it may): nesting deeper than
    MAX_DEPTH, a node containing itself, or aliases that expand it past MAX_YAML_EXPANDED.

    An alias is the same node object met again, so sizes are memoised per node: a "billion laughs"
    document is measured in a few microseconds, before anything is built from it.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    aliases = 0
    stack: list[tuple[Any, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _yaml_children(node))
            if aliases and total > MAX_YAML_EXPANDED:
                return f"YAML aliases expand it past {MAX_YAML_EXPANDED:,} nodes; refusing to build it"
            sizes[key] = total
            continue
        if key in sizes:
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                return f"more than {MAX_YAML_ALIASES:,} YAML aliases; refusing to build it"
            if sizes[key] > MAX_YAML_EXPANDED:
                return f"YAML aliases expand it past {MAX_YAML_EXPANDED:,} nodes; refusing to build it"
            continue
        if key in open_nodes:
            return "a YAML alias refers to a node that contains it (a recursive document)"
        if depth > MAX_DEPTH:
            return TOO_DEEP
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1 + len(node.value) // 64
            continue
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _yaml_children(node))
    if aliases and sizes.get(id(root), 0) > MAX_YAML_EXPANDED:  # pragma: no cover - caught above
        return f"YAML aliases expand it past {MAX_YAML_EXPANDED:,} nodes; refusing to build it"
    return None


def load_yaml_text(text: str, path: Path) -> Any:
    """Safe-load one YAML document with the store's bounds; DamagedFile (one line) otherwise."""
    loader = _YamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problem = _yaml_bound_problem(node)
        if problem:
            raise DamagedFile(str(path), problem)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DamagedFile(str(path), str(problem), mark.line + 1 if mark else None) from None
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:  # e.g. a date like 2026-13-45
        raise DamagedFile(str(path), _parse_problem(exc)) from None
    finally:
        loader.dispose()
