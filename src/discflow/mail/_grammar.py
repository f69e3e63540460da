"""The mail command language: pure parsing, no I/O (docs/mail.md documents it).

Invariants:
- ``parse_mail`` raises nothing but ``MailSyntaxError``, whatever text it is given
  (Hypothesis checks this), and a mail parses all or nothing: one malformed
  command refuses the whole mail, so half an instruction is never carried out.
- Every value a command holds is already checked (media names, copy counts,
  addresses), so the modules that execute them see only well-formed requests.
- The subject is read as a command only when the mail is not a reply, so
  answering discflow's own reply never repeats an ORDER.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from discflow.domain import MAX_COPIES, Address, check_copies, media_type
from discflow.errors import InvalidInput, MailError

MAX_COMMANDS = 20
MAX_LINE = 998  # RFC 5322 line limit; longer lines are someone's mistake

USAGE: dict[str, str] = {
    "ORDER": (
        "ORDER <content id or exact title> <media> x<copies>\n"
        "Name: <recipient>\nStreet: <street line>   (up to 4 Street: lines)\n"
        "City: <city>\nPostcode: <postal code>\nCountry: <two-letter code, e.g. US>\n"
        "(Region: <state or province> is optional)"
    ),
    "STATUS": "STATUS <order id>",
    "CANCEL": "CANCEL <order id>",
    "CATALOG": "CATALOG <search words>",
    "LOG": "LOG <order id>",
    "DEVICES": "DEVICES",
    "LOADED": "LOADED <device> <media> <count>",
    "PAUSE": "PAUSE <device>",
    "RESUME": "RESUME <device>",
    "HELP": "HELP",
    "TOKEN": "TOKEN <your mail token>",  # nosec B105
}

_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|fwd?|wg)\s*:", re.IGNORECASE)
_COPIES = re.compile(r"^[x×]?(\d{1,6})$", re.IGNORECASE)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_COUNT = re.compile(r"^\d{1,6}$")
_FIELD = re.compile(r"^([A-Za-z][A-Za-z _-]{0,20}):\s*(.*)$")
_ADDRESS_KEYS = {
    "name": "name",
    "to": "name",
    "street": "street",
    "address": "street",
    "line": "street",
    "city": "city",
    "town": "city",
    "region": "region",
    "state": "region",
    "province": "region",
    "postcode": "postcode",
    "postalcode": "postcode",
    "zip": "postcode",
    "zipcode": "postcode",
    "country": "country",
}


class MailSyntaxError(MailError, InvalidInput):
    """A command line does not follow the grammar; ``usage`` shows the right form."""

    def __init__(
        self, problem: str, *, line_no: int | None = None, line: str = "", verb: str = ""
    ) -> None:
        self.problem = problem
        self.line_no = line_no
        self.line = line[:200]
        self.verb = verb
        self.usage = USAGE.get(verb, "") if verb else help_text()
        where = {None: "", 0: "subject: "}.get(line_no, f"line {line_no}: ")
        super().__init__(f"{where}{problem}")


@dataclass(frozen=True, slots=True)
class OrderItem:
    target: str  # a content id or an exact title; the catalog decides which
    media: str  # canonical media name, e.g. "CD-R"
    copies: int


@dataclass(frozen=True, slots=True)
class Order:
    verb: ClassVar[str] = "ORDER"
    items: tuple[OrderItem, ...]
    ship_to: Address
    source: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Status:
    verb: ClassVar[str] = "STATUS"
    order_id: str
    source: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Cancel:
    verb: ClassVar[str] = "CANCEL"
    order_id: str
    source: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Catalog:
    verb: ClassVar[str] = "CATALOG"
    words: str
    source: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Log:
    verb: ClassVar[str] = "LOG"
    order_id: str
    source: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Devices:
    verb: ClassVar[str] = "DEVICES"
    source: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Loaded:
    verb: ClassVar[str] = "LOADED"
    device: str
    media: str
    count: int
    source: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Pause:
    verb: ClassVar[str] = "PAUSE"
    device: str
    source: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Resume:
    verb: ClassVar[str] = "RESUME"
    device: str
    source: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Help:
    verb: ClassVar[str] = "HELP"
    source: str = field(default="", compare=False)


Command = Order | Status | Cancel | Catalog | Log | Devices | Loaded | Pause | Resume | Help
OPERATOR_VERBS = frozenset({"DEVICES", "LOADED", "PAUSE", "RESUME"})


@dataclass(frozen=True, slots=True)
class ParsedMail:
    commands: tuple[Command, ...]
    token: str | None


def help_text() -> str:
    """Every command with its syntax, as HELP answers and syntax refusals show it."""
    customer = [v for v in USAGE if v not in OPERATOR_VERBS and v not in ("TOKEN", "HELP")]
    parts = ["Commands (one per line, in the body or in the subject of a new mail):", ""]
    parts += [USAGE[v] + "\n" for v in customer]
    parts += ["Operators only:", ""] + [USAGE[v] for v in sorted(OPERATOR_VERBS)]
    parts += ["", "Authenticate with a line " + USAGE["TOKEN"] + ", or send to <name>+<token>@..."]
    return "\n".join(parts)


def _media(word: str, *, line_no: int, line: str, verb: str) -> str:
    try:
        return media_type(word).name
    except InvalidInput as error:
        raise MailSyntaxError(str(error), line_no=line_no, line=line, verb=verb) from error


def _one_id(args: list[str], *, what: str, line_no: int, line: str, verb: str) -> str:
    if len(args) != 1 or not _ID.match(args[0]):
        raise MailSyntaxError(
            f"{verb} takes exactly one {what}", line_no=line_no, line=line, verb=verb
        )
    return args[0]


def _order_item(args: list[str], *, line_no: int, line: str) -> OrderItem:
    if len(args) < 3:
        raise MailSyntaxError(
            "ORDER needs what to copy, the media and the number of copies",
            line_no=line_no,
            line=line,
            verb="ORDER",
        )
    copies_match = _COPIES.match(args[-1])
    if copies_match is None:
        raise MailSyntaxError(
            f"{args[-1]!r} is not a number of copies; write it like x2",
            line_no=line_no,
            line=line,
            verb="ORDER",
        )
    copies = int(copies_match.group(1))
    try:
        check_copies(copies)
    except InvalidInput as error:
        raise MailSyntaxError(
            f"{error} (at most {MAX_COPIES})", line_no=line_no, line=line, verb="ORDER"
        ) from error
    media = _media(args[-2], line_no=line_no, line=line, verb="ORDER")
    target = " ".join(args[:-2]).strip().strip("\"'“”‘’«»").strip()
    if not target:
        raise MailSyntaxError(
            "ORDER needs a content id or title", line_no=line_no, line=line, verb="ORDER"
        )
    return OrderItem(target=target, media=media, copies=copies)


class _OrderGroup:
    """ORDER lines that share the address block written below them."""

    def __init__(self, line_no: int, line: str) -> None:
        self.line_no = line_no
        self.source = line
        self.items: list[OrderItem] = []
        self.fields: dict[str, list[str]] = {}

    def finish(self) -> Order:
        def one(key: str) -> str:
            return self.fields.get(key, [""])[-1]

        missing = [k for k in ("name", "street", "city", "country") if not self.fields.get(k)]
        if missing:
            raise MailSyntaxError(
                "ORDER needs the address lines below it; missing: "
                + ", ".join(k.capitalize() + ":" for k in missing),
                line_no=self.line_no,
                line=self.source,
                verb="ORDER",
            )
        try:
            address = Address(
                name=one("name"),
                lines=tuple(self.fields["street"]),
                city=one("city"),
                postal_code=one("postcode"),
                country=one("country").upper(),
                region=one("region") or None,
            )
        except InvalidInput as error:
            raise MailSyntaxError(
                str(error), line_no=self.line_no, line=self.source, verb="ORDER"
            ) from error
        return Order(items=tuple(self.items), ship_to=address, source=self.source)


def _command(verb: str, args: list[str], *, line_no: int, line: str) -> Command:
    if verb in ("STATUS", "CANCEL", "LOG"):
        order_id = _one_id(args, what="order id", line_no=line_no, line=line, verb=verb)
        if verb == "STATUS":
            return Status(order_id, source=line)
        return Cancel(order_id, source=line) if verb == "CANCEL" else Log(order_id, source=line)
    if verb in ("PAUSE", "RESUME"):
        device = _one_id(args, what="device name", line_no=line_no, line=line, verb=verb)
        return (Pause if verb == "PAUSE" else Resume)(device, source=line)
    if verb == "CATALOG":
        return Catalog(" ".join(args), source=line)
    if verb in ("DEVICES", "HELP"):
        if args:
            raise MailSyntaxError(
                f"{verb} takes nothing after it", line_no=line_no, line=line, verb=verb
            )
        return Devices(source=line) if verb == "DEVICES" else Help(source=line)
    # LOADED is the only verb left
    if len(args) != 3 or not _ID.match(args[0]) or not _COUNT.match(args[2]):
        raise MailSyntaxError(
            "LOADED needs the device, the media and how many blanks were loaded",
            line_no=line_no,
            line=line,
            verb=verb,
        )
    count = int(args[2])
    if count < 1:
        raise MailSyntaxError(
            "LOADED needs a count of at least 1", line_no=line_no, line=line, verb=verb
        )
    media = _media(args[1], line_no=line_no, line=line, verb=verb)
    return Loaded(args[0], media, count, source=line)


def _lines(subject: str, body: str) -> list[tuple[int, str]]:
    """(line number, text) pairs to read: the subject as line 0 unless it is a reply."""
    numbered: list[tuple[int, str]] = []
    if subject and not _REPLY_PREFIX.match(subject):
        first = subject.split()[0].upper() if subject.split() else ""
        if first in USAGE:
            numbered.append((0, subject.strip()))
    for line_no, raw in enumerate(body.splitlines(), start=1):
        if raw.rstrip() in ("--", "-- "):
            break  # a signature follows
        if raw.lstrip().startswith(">"):
            continue  # quoted text of an earlier mail is not a new command
        numbered.append((line_no, raw.strip()))
    return numbered


def find_token(subject: str, body: str) -> str | None:
    """The first ``TOKEN x`` line, read before (and whatever) the rest parses to."""
    for _line_no, line in _lines(subject, body):
        words = line.split()
        if len(words) == 2 and words[0].upper().rstrip(":") == "TOKEN":
            return words[1]
    return None


def parse_mail(subject: str, body: str) -> ParsedMail:
    """Commands and the mail token found in a mail's subject and plain-text body."""
    commands: list[Command] = []
    token: str | None = None
    group: _OrderGroup | None = None

    def close_group() -> None:
        nonlocal group
        if group is not None:
            commands.append(group.finish())
            group = None

    for line_no, line in _lines(subject, body):
        if len(line) > MAX_LINE:
            raise MailSyntaxError(f"a line is longer than {MAX_LINE} characters", line_no=line_no)
        words = line.split()
        if not words:
            close_group()
            continue
        verb = words[0].upper().rstrip(":")
        if verb == "ORDER":
            if group is not None and group.fields:
                close_group()
            item = _order_item(words[1:], line_no=line_no, line=line)
            if group is None:
                group = _OrderGroup(line_no, line)
            group.items.append(item)
            continue
        field_match = _FIELD.match(line)
        key = re.sub(r"[\s_-]", "", field_match.group(1)).lower() if field_match is not None else ""
        if group is not None and field_match is not None and key in _ADDRESS_KEYS:
            group.fields.setdefault(_ADDRESS_KEYS[key], []).append(field_match.group(2).strip())
            continue
        close_group()
        if verb == "TOKEN":
            if len(words) != 2:
                raise MailSyntaxError("TOKEN takes the token alone", line_no=line_no, verb=verb)
            token = token or words[1]
            continue
        if verb in USAGE:
            commands.append(_command(verb, words[1:], line_no=line_no, line=line))
        # any other line is free text (a greeting, a thank-you) and is left alone
        if len(commands) > MAX_COMMANDS:
            raise MailSyntaxError(f"a mail holds at most {MAX_COMMANDS} commands")
    close_group()
    if len(commands) > MAX_COMMANDS:
        raise MailSyntaxError(f"a mail holds at most {MAX_COMMANDS} commands")
    return ParsedMail(commands=tuple(commands), token=token)
