"""Where the templates, static files and migrations are: inside an installed package (the build step copies them
there), else beside the package in the checkout."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def folder(name: str) -> str:
    inside = PACKAGE / name
    return str(inside if inside.is_dir() else PACKAGE.parent / name)
