"""`python tests/grade_corpora.py OUT ID...`: grade the sample corpora `submissions/<ID>/` one after the other, as
`davar grade --workers 2` does, into OUT/<ID>/, and print each ID once its corpus is graded (`<ID> ok`, or `<ID>
failed` after the traceback on stderr).  An ID `<assignment>/<sample>` is that sample alone, graded with the warm
pool off (`warm=False`: each kernel started when its run needs it), to compare with its corpus's grading.  The test
session starts it at its first test (conftest.py's `corpora_ahead`)."""

import ctypes
import os
import signal
import sys
import traceback
from pathlib import Path

from davar.commands import grade

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    ctypes.CDLL(None).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG: a session killed outright stops this batch too
    out, ids = Path(sys.argv[1]), sys.argv[2:]
    done = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # what grading prints goes with the errors, not between the lines read
    for corpus_id in ids:
        assignment_id, _, sample = corpus_id.partition("/")
        try:
            # two slots even on two cores: a sample that runs to its cell time limit (never_ends: 150 s of one
            # core) then overlaps the others instead of adding to them; a sample alone has the same thread count
            grade(assignment=str(ROOT / "graders" / assignment_id), path=ROOT / "submissions" / corpus_id,
                  out=out / corpus_id, workers=2, warm=not sample)
            print(corpus_id, "ok", file=done, flush=True)
        except Exception:
            traceback.print_exc()
            print(corpus_id, "failed", file=done, flush=True)
