"""Go `fmt` printing for template values: Sprint, Sprintln, Sprintf and %v formatting."""

from __future__ import annotations

import json
import re
from typing import Any


def _go_float(value: float, fmt: str = "g", prec: int = -1) -> str:
    """strconv.FormatFloat for 'g' (shortest when prec < 0), 'e' and 'f'."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if fmt == "f":
        return f"{value:.{6 if prec < 0 else prec}f}" if prec >= 0 else _shortest_fixed(value)
    if fmt == "e":
        text = f"{value:.{6 if prec < 0 else prec}e}" if prec >= 0 else _shortest_exp(value)
        return _fix_exp(text)
    # 'g'
    if prec < 0:
        _, exp = _shortest_digits(value)
        if exp < -4 or exp >= 6:  # strconv: shortest 'g' switches to %e at exponent 6
            return _shortest_exp(value)
        return _shortest_fixed(value)
    text = f"{value:.{prec or 1}g}"
    return _fix_exp(text)


def _shortest_digits(value: float) -> tuple[str, int]:
    text = repr(abs(value))
    mantissa, _, exp_text = text.partition("e")
    exp = int(exp_text) if exp_text else 0
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    lead = len(whole) if whole != "0" else -(len(frac) - len(frac.lstrip("0")))
    if not digits:
        return "0", 0
    digits = digits.rstrip("0") or "0"
    return digits, exp + lead - 1


def _shortest_exp(value: float) -> str:
    digits, exp = _shortest_digits(value)
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if value < 0 else ""
    return f"{sign}{mant}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"


def _shortest_fixed(value: float) -> str:
    digits, exp = _shortest_digits(value)
    sign = "-" if value < 0 else ""
    if digits == "0":
        return sign + "0"
    if exp < 0:
        return f"{sign}0.{'0' * (-exp - 1)}{digits}"
    if len(digits) <= exp + 1:
        return sign + digits + "0" * (exp + 1 - len(digits))
    return f"{sign}{digits[:exp + 1]}.{digits[exp + 1:]}"


def _fix_exp(text: str) -> str:
    match = re.match(r"(.*)e([+-])(\d+)$", text)
    if not match:
        return text
    return f"{match.group(1)}e{match.group(2)}{int(match.group(3)):02d}"


def format_value(value: Any, plus: bool = False) -> str:
    """Go's %v of a value (strings unquoted, slices as [a b], maps as map[k:v] sorted)."""
    if value is None:
        return "<nil>"
    if type(value).__name__ == "_Missing":
        return "<no value>"
    string_method = getattr(type(value), "String", None)
    if string_method is not None and callable(string_method):
        return value.String()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return "[" + " ".join(str(b) for b in value) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(format_value(v, plus) for v in value) + "]"
    if hasattr(value, "go_items"):
        value = dict(value.go_items())
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (not isinstance(k, (int, float)), k if isinstance(k, (int, float))
                                            else str(k)))
        return "map[" + " ".join(f"{format_value(k)}:{format_value(value[k], plus)}" for k in keys) + "]"
    return str(value)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def sprint(*args: Any) -> str:
    """fmt.Sprint: spaces between operands when neither side is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i > 0 and not _is_string(arg) and not _is_string(args[i - 1]):
            out.append(" ")
        out.append(format_value(arg))
    return "".join(out)


def sprintln(*args: Any) -> str:
    return " ".join(format_value(a) for a in args) + "\n"


def go_quote(text: str) -> str:
    """strconv.Quote."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _type_name(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return type(value).__name__ if type(value) is not int else "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


_VERB = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?([a-zA-Z%])")


def _pad(text: str, width: int | None, minus: bool, zero: bool) -> str:
    if width is None or len(text) >= width:
        return text
    if minus:
        return text + " " * (width - len(text))
    if zero and text[:1] in "+-":
        return text[0] + "0" * (width - len(text)) + text[1:]
    return ("0" if zero else " ") * (width - len(text)) + text


def _bad(verb: str, arg: Any) -> str:
    return f"%!{verb}({_type_name(arg)}={format_value(arg)})"


def _format_one(verb: str, flags: str, width: int | None, prec: int | None, arg: Any) -> str:
    plus, minus, sharp, space, zero = ("+" in flags, "-" in flags, "#" in flags, " " in flags, "0" in flags)
    is_int = isinstance(arg, int) and not isinstance(arg, bool) and getattr(type(arg), "String", None) is None
    text: str
    if verb == "v":
        if sharp and isinstance(arg, str):
            text = go_quote(arg)
        else:
            text = format_value(arg, plus)
            if plus and (is_int or isinstance(arg, float)) and not text.startswith("-"):
                text = "+" + text
    elif verb == "s":
        if isinstance(arg, (str, bytes)) or getattr(type(arg), "String", None) is not None or \
                isinstance(arg, (list, dict, tuple)):
            text = format_value(arg)
        else:
            return _bad(verb, arg)
        if prec is not None:
            text = text[:prec]
    elif verb == "q":
        if isinstance(arg, str):
            text = go_quote(arg)
        elif is_int:
            text = "'" + chr(arg) + "'"
        else:
            return _bad(verb, arg)
    elif verb == "d":
        if not is_int:
            if isinstance(arg, (list, tuple)) and all(isinstance(a, int) for a in arg):
                return "[" + " ".join(str(a) for a in arg) + "]"
            return _bad(verb, arg)
        text = str(arg)
        if plus and arg >= 0:
            text = "+" + text
        elif space and arg >= 0:
            text = " " + text
        if prec is not None:
            sign = text[0] if text[0] in "+- " else ""
            text = sign + text[len(sign):].rjust(prec, "0")
    elif verb in "xXob":
        if is_int:
            base = {"x": "x", "X": "X", "o": "o", "b": "b"}[verb]
            text = format(abs(arg), base)
            if sharp:
                text = {"x": "0x", "X": "0X", "o": "0", "b": "0b"}[verb] + text
            if arg < 0:
                text = "-" + text
        elif isinstance(arg, str) and verb in "xX":
            text = arg.encode().hex()
            if verb == "X":
                text = text.upper()
        elif isinstance(arg, float) and verb in "xX":
            text = float.hex(arg)
        else:
            return _bad(verb, arg)
    elif verb == "c":
        if not is_int:
            return _bad(verb, arg)
        text = chr(arg)
    elif verb == "U":
        if not is_int:
            return _bad(verb, arg)
        text = f"U+{arg:04X}"
    elif verb in "eEfFgG":
        if isinstance(arg, bool) or not isinstance(arg, (int, float)) or is_int:
            return _bad(verb, arg)
        lower = verb.lower()
        text = _go_float(float(arg), "f" if lower == "f" else lower, -1 if prec is None and lower == "g"
                         else (6 if prec is None else prec))
        if verb in "EG":
            text = text.upper()
        if plus and not text.startswith("-"):
            text = "+" + text
    elif verb == "t":
        if not isinstance(arg, bool):
            return _bad(verb, arg)
        text = "true" if arg else "false"
    elif verb == "T":
        text = _type_name(arg)
    else:
        return f"%!{verb}({_type_name(arg)}={format_value(arg)})"
    return _pad(text, width, minus, zero and not minus and verb not in "sqvtT")


def sprintf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf with the common verbs, flags, width and precision (incl. `*`)."""
    out: list[str] = []
    arg_index = 0
    pos = 0
    while True:
        pct = fmt.find("%", pos)
        if pct < 0:
            out.append(fmt[pos:])
            break
        out.append(fmt[pos:pct])
        match = _VERB.match(fmt, pct)
        if not match:
            out.append("%!(NOVERB)")
            pos = pct + 1
            if pos >= len(fmt):
                break
            continue
        flags, width_text, prec_text, verb = match.groups()
        pos = match.end()
        if verb == "%":
            out.append("%")
            continue
        width = prec = None
        if width_text == "*":
            width = args[arg_index] if arg_index < len(args) else 0
            arg_index += 1
        elif width_text:
            width = int(width_text)
        if prec_text == "*":
            prec = args[arg_index] if arg_index < len(args) else 0
            arg_index += 1
        elif prec_text is not None:
            prec = int(prec_text or "0")
        if arg_index >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_format_one(verb, flags, width, prec, args[arg_index]))
        arg_index += 1
    if arg_index < len(args):
        extra = ", ".join(f"{_type_name(a)}={format_value(a)}" for a in args[arg_index:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def to_json(value: Any) -> str:
    """encoding/json.Marshal of plain data (maps with sorted keys, no HTML escaping differences)."""
    return json.dumps(_jsonable(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False) \
        .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "go_items"):
        return {str(k): _jsonable(v) for k, v in value.go_items()}
    if hasattr(value, "go_json"):
        return value.go_json()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value
