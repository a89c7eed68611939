"""What a failure in the middle of training means, said in a user's words instead of TensorFlow's.

TensorFlow reports a failure inside a tf.data pipeline as an ``OpError`` whose text holds the node
that failed and, for Python code the pipeline runs (a data plugin's generator), that code's own
traceback. Two such failures are recognised: an input file TensorFlow cannot decode, and a data
plugin's code failing while its data is read.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from pathlib import Path

from tlspec.errors import DEBUG_VARIABLE, TlspecError

DECODE_NODE = re.compile(r"node [\w/]*Decode(Image|Jpeg|Png|Bmp|Gif)\b")
FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')
RAISED = re.compile(r"^(\w+(?:\.\w+)*(?:Error|Exception|Interrupt|Exit)\w*): (.*)$", re.MULTILINE)


def explained(session, error: BaseException) -> BaseException:
    """``error`` as a TlspecError that says what happened, when it is one tlspec recognises."""
    return undecodable_input(error) or data_plugin_failure(session, error) or error


def undecodable_input(error: BaseException) -> TlspecError | None:
    """TensorFlow could not decode an input file mid-training: the data plugin's checks let it through."""
    text = str(error)
    if type(error).__name__ != "InvalidArgumentError" or not DECODE_NODE.search(text):
        return None
    failing = next((line for line in text.splitlines() if "failed" in line or "Invalid" in line), "")
    detail = failing.rsplit(": ", 1)[-1].strip()  # TensorFlow's own words, without its iterator and node names
    return TlspecError(f"training stopped: TensorFlow could not decode an input file ({detail or 'no detail'}), "
                       "which the data plugin's checks did not catch; remove or re-save the damaged file and "
                       "continue with --resume")


def data_plugin_failure(session, error: BaseException) -> TlspecError | None:
    """The data plugin's own Python code raised while tf.data read its data (a plugin bug), named."""
    source = getattr(session.validated, "data_source", None)
    if source is None or not type(error).__module__.startswith("tensorflow"):
        return None
    text = str(error)
    package = _package_folder(type(source.plugin))
    frames = [(file, line, function) for file, line, function in FRAME.findall(text)
              if package is not None and _inside(file, package)]
    raised = RAISED.search(text)
    if not frames or raised is None:
        return None
    if os.environ.get(DEBUG_VARIABLE):
        print(text, file=sys.stderr)
    file, line, function = frames[-1]
    origin = source.record.origin
    return TlspecError(f"data plugin '{source.record.name}' ({origin.distribution} {origin.version}) failed while "
                       f"training read its data, in {function} ({Path(file).name}:{line}): {raised.group(1)}: "
                       f"{raised.group(2)}. This is a bug in that plugin (rerun with {DEBUG_VARIABLE}=1 for its "
                       "traceback)")


def tensorflow_detail(error: BaseException) -> str:
    """The line of a TensorFlow error that says what went wrong (its first line is often only
    'Graph execution error:')."""
    text = str(getattr(error, "message", "") or error)
    for line in text.splitlines():
        found = re.search(r"(?:INVALID_ARGUMENT|InvalidArgumentError):\s*(.+)", line)
        if found:
            return found.group(1).strip()
    raised = RAISED.findall(text)
    if raised:
        return f"{raised[-1][0]}: {raised[-1][1]}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _package_folder(cls) -> Path | None:
    try:
        return Path(inspect.getfile(cls)).resolve().parent
    except (TypeError, OSError):
        return None


def _inside(file: str, folder: Path) -> bool:
    try:
        return Path(file).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False
