"""A rejected row's text as logged and written to the errors file (``rejected_rows``)."""

from __future__ import annotations

from sentinel.casestore.rejected_rows import rejected_row_text, rejected_rows_frame

# Generated, checksum-valid: nobody's.
ID = "430923192908220488"
ACCOUNT = "6228484948440686706"


def test_an_id_or_account_in_a_problem_is_masked_in_the_text_and_the_table():
    problem = f"{ID} or {ACCOUNT} pasted where an amount belongs"
    text = rejected_row_text("recoveries.csv", 4, "DP-4309**1", "amount", problem)
    table = rejected_rows_frame("file", [("recoveries.csv", 4, "DP-4309**1", "amount", problem)])
    for shown in (text, table["problem"][0]):
        assert ID not in shown and ACCOUNT not in shown
        assert ID[:10] not in shown and ACCOUNT[:10] not in shown
        assert shown.endswith("pasted where an amount belongs")
    assert text.startswith("recoveries.csv, row 4, case DP-4309**1, column amount: ")
