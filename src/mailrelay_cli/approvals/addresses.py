"""Mail addresses as mail systems route them: never compared by Unicode folding.

Two addresses are the same when their local parts are equal except for ASCII
case and their domains have the same IDNA A-label, ASCII case ignored
(``ops@bücher.example`` is ``ops@xn--bcher-kva.example``). Nothing else is
folded: ``str.lower``/``casefold`` would make KELVIN SIGN ``\u212a`` a ``k``
and LONG S ``ſ`` an ``s``, so a look-alike such as ``ops@\u212apmg.example``
or ``ſam@example.com`` would pass for an approver. A domain that is not valid
IDNA 2008 (KELVIN SIGN is disallowed there) has no A-label: such an address
matches only an approver written byte for byte the same.

``bare_address`` is how an address is kept and shown: the address as it
arrived, its domain's ASCII letters lower-cased (DESIGN.md: "lower-cased
domain"); non-ASCII characters are never changed, so ``decided_by`` shows a
forgery as the forgery.
"""

from __future__ import annotations

from email.utils import parseaddr

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
MAX_ADDRESS = 320  # RFC 5321: 64 for the local part, 255 for the domain, and the @


def ascii_lower(text: str) -> str:
    """``text`` with only A-Z lower-cased (every other character kept as it is)."""
    return text.translate(_ASCII_LOWER)


def bare_address(text: str | None) -> str | None:
    """The bare address in ``text`` (``Name <a@b>`` or ``a@b``), domain ASCII-lower-cased.

    None when there is no ``local@domain``, or it is longer than an address can be.
    """
    if not text or len(text) > 4 * MAX_ADDRESS:
        return None
    try:
        _, address = parseaddr(text)
    except (RecursionError, ValueError, IndexError):  # hostile comment nesting
        return None
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or len(address) > MAX_ADDRESS:
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ch == "\x7f" for ch in address):
        return None
    return f"{local}@{ascii_lower(domain)}"


def domain_key(domain: str) -> str | None:
    """The domain's IDNA A-label form, ASCII-lower-cased; None when it is not valid IDNA."""
    if domain.isascii():
        return ascii_lower(domain).rstrip(".")
    import idna

    try:
        return ascii_lower(idna.encode(domain.rstrip("."), uts46=False).decode("ascii"))
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def address_key(address: str) -> str | None:
    """What two addresses must share to be the same mailbox; None if the domain has no A-label."""
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return None
    key = domain_key(domain)
    return None if key is None else f"{ascii_lower(local)}@{key}"


def same_address(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are one mailbox (rules: module docstring)."""
    if a == b:
        return True
    key_a, key_b = address_key(a), address_key(b)
    return key_a is not None and key_a == key_b
