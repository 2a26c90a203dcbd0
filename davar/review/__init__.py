"""`davar review`: the TA's manual grading in the browser (`app`), and the safe rendering of answers (`render`)."""
