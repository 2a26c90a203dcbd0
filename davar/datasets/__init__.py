"""What every course's stand-in datasets share; the datasets themselves live with their course.

An assignment names each of its datasets in ``[datasets.<name>] standin = "module:function"``: a
module in ``graders/<id>/`` (found by :func:`davar.assignment.course_imports`) holding the offline
stand-in generator and the loaders that graders and template notebooks use, so the grader code is
the same for the real data and the stand-in.  Its docstring says where a TA puts the real data.
Generators build with :mod:`.standin`, which keeps them from ever replacing real data.
"""
