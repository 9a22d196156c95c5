"""The package's version, defined once: pyproject.toml, ``mock_server.__version__``,
``aem-guides-mock --version``, the banner and the OpenAPI document's ``info.version`` read it."""

__version__ = "0.1.0"
