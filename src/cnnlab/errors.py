"""The one exception type for mistakes a user can fix.

Stage scripts catch it and print its message without a stack trace; anything else
is a bug in cnnlab and keeps its traceback.
"""


class UserError(Exception):
    """Bad params, bad input data, missing downloads, diverging training.

    The message names the cause and the fix.
    """
