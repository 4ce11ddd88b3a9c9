"""Runtime code of the chatbot's Lambda functions (deployed as the function's code asset)."""

__version__ = "0.1.0"
