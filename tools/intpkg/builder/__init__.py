"""Building a package (folder and zip) and rendering its docs."""

from intpkg.builder.package import BuildResult, build_package, copy_package_part, render_docs, write_zip

__all__ = ["BuildResult", "build_package", "copy_package_part", "render_docs", "write_zip"]
