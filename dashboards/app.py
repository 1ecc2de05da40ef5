"""SFE dashboards: the entry file. Builds the navigation and runs the selected page.

Start with `sfe serve` (or `streamlit run dashboards/app.py`); settings come from the same
`sfe.toml` / `SFE_*` environment the command line uses. Every page reads only the published
snapshot (`dashboards.connection`).
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # `streamlit run` puts dashboards/ on the path, not the repo
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from dashboards import auth, connection  # noqa: E402

# an emoji favicon: a `:material/…:` one makes the browser fetch it from fonts.gstatic.com
st.set_page_config(page_title="SFE 流向与销售效能 Dashboards", page_icon="📈", layout="wide")
# the login form (and a stop) until someone signs in; None with login off
identity = auth.login_gate(connection.get_settings())

PAGES = {
    "经营 Performance": [
        st.Page("views/scorecard.py", title="经营周报 Executive scorecard",
                icon=":material/dashboard:", url_path="scorecard", default=True),
        st.Page("views/kpi_explorer.py", title="指标浏览 KPI explorer",
                icon=":material/query_stats:", url_path="kpis"),
        st.Page("views/inventory.py", title="渠道库存 Channel inventory",
                icon=":material/inventory_2:", url_path="inventory"),
        st.Page("views/tenders.py", title="招标 Tenders", icon=":material/gavel:",
                url_path="tenders"),
    ],
    "数据运营 Data operations": [
        st.Page("views/loads.py", title="数据加载 Loads", icon=":material/upload_file:",
                url_path="loads"),
        st.Page("views/match_review.py", title="客户匹配 Matching", icon=":material/join:",
                url_path="matching"),
        st.Page("views/data_quality.py", title="数据质量 Data quality", icon=":material/fact_check:",
                url_path="quality"),
    ],
}

# distributor- and company-level pages refuse a user limited to some territories (a rep, a
# district manager): their navigation does not list them (README: access control)
COMPANY_WIDE = {"inventory", "tenders", "loads", "matching", "quality"}
if identity is not None and not identity.user.sees_everything:
    PAGES = {group: [p for p in pages if p.url_path not in COMPANY_WIDE]
             for group, pages in PAGES.items()}
page = st.navigation(PAGES)
st.sidebar.caption("只读已发布快照 Reads the published snapshot only (read-only).")
page.run()
