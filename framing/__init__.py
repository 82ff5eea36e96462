"""Command-line entry point of the news-framing classifier (`framing --help`)."""
