"""The build test's package directory (`pip package=`)."""


def main():
    print("hello from a package directory")
