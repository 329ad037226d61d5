"""An append-only journal of a push, so a push killed half-way can resume without resending.

The journal is a JSON-lines file. The first line is a header naming the plan by its
fingerprint (a hash of every step's payload); each later line is one event about one step:

``{"step": i, "state": "sending", "ids": [...]}``
    written and ``fsync``-ed *before* the HTTP call;
``{"step": i, "state": "confirmed", "ids": [...], "result": {...}}``
    written after the answer (the raw reply body, or the whole-request error envelope);
``{"step": i, "state": "verified", "ids": [...]}``
    on resume, the ids of an unconfirmed "sending" whose values a read-back found applied;
``{"step": i, "state": "upload", "file_id": "..."}``
    a bulk-write file was uploaded for the step and its job is about to be created: from
    here until the "job" event, the job may exist without crmframe knowing its id, so a
    resume never creates another (it reports the step's records ``unknown`` instead);
``{"step": i, "state": "job", "job_id": "..."}``
    a background job (bulk write) was created for the step: resume polls it, never recreates it.

The fingerprint is made from the intended edits in a canonical form: a bulk-write step
counts by the CSV it carries (and its mappings, ids and operation), never by its zip, whose
bytes hold a timestamp and differ at every build.

Only a "sending" with no later "confirmed" is ambiguous (the process died between the call
and the answer); everything else is known. A torn last line (the process died mid-write) is
ignored: the event it describes did not happen as far as the journal is concerned.

Examples
--------
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "push.jsonl")
>>> steps = [{"route": "put", "ids": ["1", "2"], "payload": {"data": [{"id": "1"}, {"id": "2"}]}}]
>>> with Journal.open(path, plan_fingerprint([s["payload"] for s in steps]), steps) as j:
...     j.sending(0, ["1", "2"])
...     j.confirmed(0, ["1", "2"], {"data": []})
>>> with Journal.open(path, plan_fingerprint([s["payload"] for s in steps]), steps) as j:
...     j.step_state(0).remaining(["1", "2"])
[]
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import TracebackType
from typing import IO, Any

from crmframe.errors import InputError, JournalMismatchError

__all__ = [
    "JOURNAL_FORMAT",
    "Journal",
    "JournalHead",
    "JournalMismatchError",  # re-exported from crmframe.errors for callers of this module
    "StepState",
    "plan_fingerprint",
]

#: The header's ``format`` value; a file without it is not a crmframe journal.
JOURNAL_FORMAT = "crmframe-push-journal/1"




def _canonical(obj: Any) -> Any:
    """JSON-able form of a payload: bytes become their hash; a bulk-write file its content."""
    csv_bytes = getattr(obj, "csv_bytes", None)
    if isinstance(csv_bytes, (bytes, bytearray)):
        # A bulk-write file: what it writes, not its zip (which carries a build timestamp).
        return {
            "bulk_write_csv": hashlib.sha256(bytes(csv_bytes)).hexdigest(),
            "field_mappings": _canonical(getattr(obj, "field_mappings", None)),
            "ids": [str(i) for i in getattr(obj, "ids", None) or []],
            "module": str(getattr(obj, "module", "")),
            "operation": str(getattr(obj, "operation", "update")),
            "find_by": getattr(obj, "find_by", None),
        }
    if isinstance(obj, (bytes, bytearray)):
        return {"sha256": hashlib.sha256(bytes(obj)).hexdigest()}
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    return obj


def plan_fingerprint(payloads: Iterable[Any]) -> str:
    """A stable hash of a plan's payloads, in order.

    Two plans with the same steps carrying the same values have the same fingerprint,
    whatever the key order inside each payload.

    Examples
    --------
    >>> plan_fingerprint([{"data": [{"id": "1", "A": 1}]}]) == plan_fingerprint(
    ...     [{"data": [{"A": 1, "id": "1"}]}])
    True
    >>> plan_fingerprint([{"x": 1}]) == plan_fingerprint([{"x": 2}])
    False
    """
    digest = hashlib.sha256()
    for payload in payloads:
        text = json.dumps(_canonical(payload), sort_keys=True, separators=(",", ":"), default=str)
        digest.update(hashlib.sha256(text.encode("utf-8")).digest())
    return digest.hexdigest()


@dataclass
class StepState:
    """What the journal knows about one step.

    ``confirmed`` holds ``(ids, reply body)`` for every answered call, ``verified`` the ids a
    read-back found already applied, ``pending`` the ids of a call sent but never answered
    (``None`` when there is none) and ``job_id`` the background job created for the step.
    """

    confirmed: list[tuple[list[str], dict[str, Any]]] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    pending: list[str] | None = None
    job_id: str | None = None
    #: The uploaded bulk-write file whose job was about to be created (see "upload").
    file_id: str | None = None

    @property
    def job_may_exist(self) -> bool:
        """A job was being created when the run stopped, and its id never came back."""
        return self.file_id is not None and self.job_id is None and self.pending is not None

    def settled_ids(self) -> set[str]:
        """Ids with a known outcome (answered or verified)."""
        done = set(self.verified)
        for ids, _ in self.confirmed:
            done.update(ids)
        return done

    def remaining(self, ids: Sequence[str]) -> list[str]:
        """The step's ids with no known outcome yet, in the step's order."""
        done = self.settled_ids()
        return [i for i in ids if i not in done]

    @property
    def started(self) -> bool:
        """True when anything was recorded for the step."""
        return bool(self.confirmed or self.verified or self.pending is not None or self.job_id
                    or self.file_id)


def _file_path(path: str | os.PathLike[str]) -> str:
    """``path`` as text; a folder is refused (the journal is one file)."""
    text = os.fspath(path)
    if os.path.isdir(text):
        raise JournalMismatchError(
            f"journal={text!r} is a folder: give a file path such as "
            f"{os.path.join(text, 'push-leads.jsonl')!r}"
        )
    return text


def _b64(obj: Any) -> Any:
    # A reply body is JSON already; bytes can only come from a caller's mistake, keep them.
    if isinstance(obj, (bytes, bytearray)):
        return {"base64": base64.b64encode(bytes(obj)).decode("ascii")}
    return obj


@dataclass(frozen=True)
class JournalHead:
    """An existing journal's header and the ids any of its events touched."""

    header: dict[str, Any]
    touched: set[str]


class Journal:
    """An open push journal. Use :meth:`open`; every write is flushed and ``fsync``-ed.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    fingerprint : str
        The plan's :func:`plan_fingerprint`.
    states : dict
        ``{step: StepState}`` read from an existing file (empty for a new journal).
    handle : file
        The file, open for appending.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fingerprint: str,
        states: dict[int, StepState],
        handle: IO[str],
    ) -> None:
        self.path = os.fspath(path)
        self.fingerprint = fingerprint
        self._states = states
        self._handle: IO[str] | None = handle

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        fingerprint: str,
        steps: Sequence[Mapping[str, Any]] = (),
        *,
        module: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Journal:
        """Create the journal, or resume it if it exists and holds the same plan.

        Parameters
        ----------
        path : str or os.PathLike
            Where the journal lives.
        fingerprint : str
            :func:`plan_fingerprint` of the plan about to be executed.
        steps : sequence of dict
            The plan's steps (route, ids, fields, payload...), written into the header so
            the file documents what was intended.
        module : str, optional
            The module, for the header.
        extra : dict, optional
            More header keys (decisions a resume must repeat, e.g. excluded conflicts).

        Raises
        ------
        JournalMismatchError
            When the file exists but is not a crmframe journal or belongs to another plan.

        Examples
        --------
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "j.jsonl")
        >>> Journal.open(path, "abc").close()
        >>> try:
        ...     Journal.open(path, "other")
        ... except JournalMismatchError as exc:
        ...     print("another plan" in str(exc))
        True
        """
        path = _file_path(path)
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)  # journal="journals/push-leads.jsonl"
        exists = os.path.exists(path) and os.path.getsize(path) > 0
        if exists:
            states = cls._read(path, fingerprint)
            handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())
            journal = cls(path, fingerprint, states, handle)
            journal._truncate_torn_tail()
            return journal
        handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())
        journal = cls(path, fingerprint, {}, handle)
        journal._write(
            {
                "format": JOURNAL_FORMAT,
                "fingerprint": fingerprint,
                "module": module,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "steps": [_canonical(dict(s)) for s in steps],
                **dict(extra or {}),
            }
        )
        return journal

    @staticmethod
    def peek(path: str | os.PathLike[str]) -> JournalHead | None:
        """What an existing journal holds, without opening it for writing.

        Returns ``None`` when there is no journal (or an empty file) at ``path``.

        Raises
        ------
        JournalMismatchError
            When the file is not a crmframe journal.
        """
        path = _file_path(path)
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            return None
        with open(path, encoding="utf-8") as handle:
            header = Journal._header(path, handle.readline())
        states = Journal._read(path, str(header.get("fingerprint")))
        touched: set[str] = set()
        for state in states.values():
            touched |= state.settled_ids()
            touched |= set(state.pending or ())
        return JournalHead(header, touched)

    @staticmethod
    def _header(path: str, line: str) -> dict[str, Any]:
        """The journal's first line, parsed; raise when it is not a crmframe journal's."""
        try:
            header = json.loads(line)
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("format") != JOURNAL_FORMAT:
            raise JournalMismatchError(f"{path!r} is not a crmframe push journal")
        return header

    @staticmethod
    def _read(path: str, fingerprint: str) -> dict[int, StepState]:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().split("\n")
        header = Journal._header(path, lines[0])
        if header.get("fingerprint") != fingerprint:
            raise JournalMismatchError(
                f"journal {path!r} belongs to another plan (fingerprint "
                f"{str(header.get('fingerprint'))[:12]}…, this plan {fingerprint[:12]}…): "
                "use a new journal path, or push the same edits to resume"
            )
        states: dict[int, StepState] = {}
        for line in lines[1:]:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                # A torn write: the process died while writing this line, so the event it
                # describes did not happen. A resumed run starts a fresh line after it.
                continue
            if isinstance(event, dict) and isinstance(event.get("step"), int):
                Journal._apply(states.setdefault(event["step"], StepState()), event)
        return states

    @staticmethod
    def _apply(state: StepState, event: Mapping[str, Any]) -> None:
        kind = event.get("state")
        ids = [str(i) for i in event.get("ids") or []]
        if kind == "sending":
            state.pending = ids
        elif kind == "confirmed":
            result = event.get("result")
            state.confirmed.append((ids, result if isinstance(result, dict) else {}))
            state.pending = None
        elif kind == "verified":
            state.verified.extend(i for i in ids if i not in state.verified)
            state.pending = None
        elif kind == "job":
            state.job_id = None if event.get("job_id") is None else str(event["job_id"])
        elif kind == "upload":
            state.file_id = None if event.get("file_id") is None else str(event["file_id"])

    def _truncate_torn_tail(self) -> None:
        # Make sure the next event starts on a fresh line even if the last write was torn.
        with open(self.path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() == 0:
                return
            handle.seek(-1, os.SEEK_END)
            last = handle.read(1)
        if last != b"\n" and self._handle is not None:
            self._handle.write("\n")
            self._sync()

    # -- state ---------------------------------------------------------------------------

    def step_state(self, step: int) -> StepState:
        """What is known about ``step`` (an empty :class:`StepState` when nothing is)."""
        return self._states.setdefault(step, StepState())

    @property
    def resumed(self) -> bool:
        """True when the journal already held events when it was opened."""
        return any(s.started for s in self._states.values())

    # -- events --------------------------------------------------------------------------

    def sending(self, step: int, ids: Sequence[str]) -> None:
        """Record that a call for ``ids`` of ``step`` is about to be sent."""
        self._event({"step": step, "state": "sending", "ids": list(ids)})

    def confirmed(self, step: int, ids: Sequence[str], result: Mapping[str, Any] | None) -> None:
        """Record the answer (raw body, or the error envelope) for ``ids`` of ``step``."""
        self._event(
            {
                "step": step,
                "state": "confirmed",
                "ids": list(ids),
                "result": _b64(dict(result) if result is not None else {}),
            }
        )

    def verified(self, step: int, ids: Sequence[str]) -> None:
        """Record that a read-back found ``ids`` of ``step`` already applied."""
        self._event({"step": step, "state": "verified", "ids": list(ids)})

    def upload(self, step: int, file_id: str) -> None:
        """Record the file uploaded for ``step``'s bulk write, before its job is created."""
        self._event({"step": step, "state": "upload", "file_id": file_id})

    def job(self, step: int, job_id: str) -> None:
        """Record the background job created for ``step``."""
        self._event({"step": step, "state": "job", "job_id": job_id})

    def _event(self, event: dict[str, Any]) -> None:
        self._write(event)
        self._apply(self.step_state(int(event["step"])), event)

    def _write(self, obj: Mapping[str, Any]) -> None:
        if self._handle is None:
            raise InputError(f"journal {self.path!r} is closed")
        self._handle.write(json.dumps(obj, separators=(",", ":"), default=str) + "\n")
        self._sync()

    def _sync(self) -> None:
        if self._handle is None:
            return
        self._handle.flush()
        os.fsync(self._handle.fileno())

    # -- closing -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        done = sum(1 for s in self._states.values() if s.confirmed or s.verified)
        return f"<Journal {self.path!r} fingerprint={self.fingerprint[:12]} steps_touched={done}>"
