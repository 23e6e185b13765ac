"""Articles written for the alert tests: one story in three copies, and unrelated stories."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from flows.extract.article import content_hash
from flows.records import Article

FETCHED = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)

FERRY_BODY = (
    "The island council approved a new electric ferry for the northern crossing on Monday, "
    "ending three years of arguments about the cost of replacing the diesel boat. The ferry "
    "will carry sixty cars and four hundred passengers, and its batteries will be charged at "
    "both harbours overnight. Councillors said the contract had been signed with a shipyard "
    "in the south of the country and that the first sailing was planned for next summer. "
    "Fishermen at the harbour welcomed the decision but asked for the old pier to be repaired "
    "before the new boat arrives, because the current ramp cannot take its weight. The harbour "
    "master said tide tables would be published once the timetable was agreed with the operator."
)
# A light rewrite by another publisher: a few words changed, one clause dropped.
FERRY_REWRITE_BODY = (
    "The island council approved a new electric ferry for the northern crossing on Monday, "
    "ending three years of arguments about the cost of replacing the diesel boat. The ferry "
    "will carry sixty cars and four hundred passengers, and its batteries will be charged at "
    "both harbours overnight. Councillors said the contract had been signed with a shipyard "
    "in the south of the country and that the first sailing was planned for next summer. "
    "Fishermen at the harbour welcomed the move but asked for the old pier to be repaired "
    "before the new boat arrives, because the current ramp cannot take its weight."
)
ORCHARD_BODY = (
    "Apple growers in the valley expect their smallest harvest in a decade after a late frost "
    "damaged blossom across most orchards in April. The growers' cooperative said yields could "
    "fall by a third, and that several family farms were considering selling land to "
    "developers. Cider makers warned that prices would rise, while a university study found "
    "that orchards protected by hedgerows lost far fewer blossoms than open fields."
)
RAIL_BODY = (
    "Engineers began replacing the signalling on the coastal railway line this weekend, the "
    "first stage of a modernisation that will close the line on Sundays until March. Replacement "
    "buses will run between the main stations, and the operator promised that journey times "
    "would fall by ten minutes once the work is finished. Passenger groups asked for better "
    "information at small stations, where timetables are still printed on paper."
)
WATER_AR_BODY = (
    "أعلنت البلدية عن خطة جديدة لتحسين شبكة المياه في الأحياء القديمة خلال العام المقبل، "
    "وقالت إن الأنابيب الحالية تعود إلى أكثر من أربعين عاما. وأوضح مسؤول في البلدية أن "
    "المشروع سيبدأ في الأحياء التي تشهد انقطاعا متكررا للمياه في فصل الصيف، وأن السكان "
    "سيحصلون على إشعار قبل أسبوع من بدء الأعمال في شوارعهم."
)


def article(
    slug: str,
    title: str,
    body: str,
    publisher: str,
    language: str = "en",
    source: str = "daily8",
) -> Article:
    url = f"https://www.daily8.com/en/article/{slug}"
    return Article(
        source=source,
        url=url,
        canonical_url=url,
        title=title,
        body=body,
        content_hash=content_hash(body),
        language=language,
        fetched_at=FETCHED,
        publisher=publisher,
        published_at=FETCHED,
    )


FERRY = article(
    "f" * 32,
    "Island council approves electric ferry for northern crossing",
    FERRY_BODY,
    "Harbour Herald",
)
FERRY_REWRITE = article(
    "e" * 32,
    "Island approves electric ferry for the northern crossing",
    FERRY_REWRITE_BODY,
    "Coastal Courier",
)
# The same text under another URL (a staging host): caught by the content hash.
FERRY_ALIAS = replace(
    FERRY,
    url="https://test.daily8.com/en/article/" + "f" * 32,
    canonical_url="https://test.daily8.com/en/article/" + "f" * 32,
    publisher="Harbour Herald",
)
ORCHARD = article(
    "a" * 32,
    "Late frost leaves valley orchards facing smallest apple harvest",
    ORCHARD_BODY,
    "Valley Post",
)
RAIL = article(
    "c" * 32, "Coastal railway closes on Sundays for signalling work", RAIL_BODY, "Rail Weekly"
)
WATER_AR = article(
    "1" * 32, "خطة لتحسين شبكة المياه في الأحياء القديمة", WATER_AR_BODY, "البلد", language="ar"
)

FIRST_RUN = [FERRY, ORCHARD, WATER_AR]
SECOND_RUN = [FERRY_REWRITE, FERRY_ALIAS, RAIL]
ALL = FIRST_RUN + SECOND_RUN
