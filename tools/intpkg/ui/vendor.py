"""The UI's third-party browser code, from its own registry, pinned and verified, served locally (no CDN).

ECharts (Apache ECharts 6.1.0, `dist/echarts.min.js` of npm's `echarts`) draws the dashboards' charts:
line, area and stacked bars, pie, donut and treemap in one library. It is provisioned once into
`$INTPKG_HOME/cache/ui-vendor/` by `intpkg.npm.provision_file` (the tarball's integrity is pinned).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from intpkg import npm, settings


@dataclass(frozen=True)
class NpmAsset:
    spec: str  # name@version
    integrity: str  # npm's dist.integrity of that version
    member: str  # the file inside the tarball
    file_name: str  # as served under /vendor/

    def path(self) -> Path:
        """The file, provisioned on first use (IntpkgError naming what failed)."""
        name, version = self.spec.rsplit("@", 1)
        folder = settings.intpkg_home() / "cache" / "ui-vendor" / name / version
        return npm.provision_file(self.spec, self.integrity, self.member, folder, self.file_name)


ECHARTS = NpmAsset("echarts@6.1.0",
                   "sha512-q0yaFPggC9FUdsWH4blavRWFmxdrIodbkoKNAjJudAI6CA9gNPxHtV2RcZNEepZVlk4yvBYkOkbk6HIVpIyHZA==",
                   "package/dist/echarts.min.js", "echarts.min.js")

ASSETS = {asset.file_name: asset for asset in (ECHARTS,)}
