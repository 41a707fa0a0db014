"""The claim checker: sentences, quantities, topics, matching (threshold on held-out pages), verdict rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from evidence.checking import checker, topics
from evidence.checking.checker import (
    MATCH_THRESHOLD,
    RULES,
    check_text,
    classify_topic,
    compare_quantity,
    extract_text,
    findings_to_records,
    split_sentences,
    summarise_evidence,
)
from evidence.checking.quantities import extract_quantities
from evidence.curation.load import data_dir, load_dataset, sources_dir
from evidence.curation.schema import Topic, Verdict
from evidence.curation.tables import build_tables

FIX = Path(__file__).parent / "fixtures" / "checker"
LABELS = yaml.safe_load((FIX / "heldout_labels.yaml").read_text(encoding="utf-8"))["pages"]
DEV_PAGES = [p for p in LABELS if p.split("_")[1] in "12345"]  # pages the scorer was designed on
TEST_PAGES = [p for p in LABELS if p not in DEV_PAGES]  # held back while designing


@pytest.fixture(scope="module")
def fixture_data():
    dataset = load_dataset(FIX / "data")
    return dataset, build_tables(dataset)


# --------------------------------------------------------------------------- sentences

def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


def test_offsets_point_into_the_original_text():
    text = "  Ketamine works.  It lasts!\r\nWhy? Because…  \n\n• one\n  - two  \n3. three\n"
    for s in split_sentences(text):
        assert text[s.start:s.end] == s.text
        assert s.text == s.text.strip()


def test_bullets_and_line_breaks_are_boundaries():
    text = ("Benefits\n• Quick relief: within hours\n  • Lasting effects\n- Safe for most people\n"
            "* Fewer side effects\n1. First step\n2) Second step\n(3) Third step\nNo full stop here\nnext line")
    assert texts(text) == ["Benefits", "Quick relief: within hours", "Lasting effects", "Safe for most people",
                           "Fewer side effects", "First step", "Second step", "Third step", "No full stop here",
                           "next line"]


@pytest.mark.parametrize(("text", "expected"), [
    ("Call (555) 010-2340 or book your first infusion online today.",
     ["Call (555) 010-2340 or book your first infusion online today."]),
    ("Phone (0161) 496 0000 and ask. Then rest.", ["Phone (0161) 496 0000 and ask.", "Then rest."]),
])
def test_a_phone_numbers_area_code_does_not_end_a_sentence(text, expected):
    """syntok had split "Call (555)" from "010-2340 or book ...", and the table showed the half as a finding."""
    assert texts(text) == expected


def test_mid_line_bullets_split():
    assert texts("Fast • Safe • Lasting") == ["Fast", "Safe", "Lasting"]


def test_sentence_ends_and_non_ends():
    text = ("Ketamine works in 24 hours. It lasts 2.5 weeks, e.g. in trials by Dr. Smith and J. Doe. "
            "Used since the 1960s. Is it safe? Yes! “Quoted.” Then (bracketed). ok... lower case goes on.")
    assert texts(text) == [
        "Ketamine works in 24 hours.",
        "It lasts 2.5 weeks, e.g. in trials by Dr. Smith and J. Doe.",
        "Used since the 1960s.",
        "Is it safe?",
        "Yes!",
        "“Quoted.”",
        "Then (bracketed). ok... lower case goes on.",  # a lower-case start continues the sentence
    ]


def test_sentences_without_letters_or_digits_are_dropped():
    assert texts("•\n---\n…\n© 2024 Clinic") == ["© 2024 Clinic"]


def test_html_is_reduced_to_text():
    html = ("<html><head><title>Clinic</title><style>p{color:red} .x:after{content:'Ketamine works.'}</style>"
            "<script>var claim = 'ketamine is safe';</script></head><body><h1>Ketamine&nbsp;therapy</h1>"
            "<p>Relief in as little as <b>24&nbsp;hours</b>.<br>Effects last 1&ndash;3 days.</p>"
            "<ul><li>Safe</li><li>Fast</li></ul><div>Call now</div></body></html>")
    text = extract_text(html)
    assert "ketamine is safe" not in text and "color" not in text
    assert texts(text) == ["Clinic", "Ketamine therapy", "Relief in as little as 24 hours.",
                           "Effects last 1–3 days.", "Safe", "Fast", "Call now"]


def test_check_text_offsets_for_html_refer_to_the_extracted_text(fixture_data):
    dataset, tables = fixture_data
    html = "<p>Ketamine works in as little as 24 hours.</p><script>x = 'More than 80% respond'</script>"
    extracted = extract_text(html)
    findings = check_text(html, dataset, tables)
    assert findings and all(extracted[f.start:f.end] == f.sentence for f in findings)
    assert not any("80%" in f.sentence for f in findings)
    assert check_text(html, dataset, tables, html=False)[0].sentence.startswith("<p>")


@pytest.mark.parametrize("hidden", ["\u200b", "\u00ad", "\u2060", "\ufeff"])
def test_invisible_characters_do_not_split_a_figure(fixture_data, hidden):
    """Scraped pages carry soft hyphens and zero-width spaces; "8\u200b0%" had been read as 0%."""
    dataset, tables = fixture_data
    plain = "More than 80% of patients respond within 24 hours."
    seen = check_text(plain, dataset, tables)[0]
    text = plain.replace("80", "8" + hidden + "0").replace("patients", "pa" + hidden + "tients")
    [found] = check_text(text, dataset, tables)
    assert found.sentence == text and text[found.start:found.end] == text  # quoted as given
    assert found.quantities == seen.quantities and found.quantities[0]["low"] == 80
    assert (found.claim_id, found.verdict, found.topics) == (seen.claim_id, seen.verdict, seen.topics)


@pytest.mark.parametrize("written", ["８０％", "80\u066a", "80\ufe6a", "８0%"])
def test_full_width_and_arabic_percent_signs_read_as_a_share(fixture_data, written):
    """"８０％ of patients" (typed with an East Asian input method) had been read as 80 of nothing."""
    dataset, tables = fixture_data
    plain = "More than 80% of patients respond within 24 hours."
    seen = check_text(plain, dataset, tables)[0]
    text = plain.replace("80%", written)
    [found] = check_text(text, dataset, tables)
    assert found.sentence == text
    assert [(q["kind"], q["low"], q["unit"]) for q in found.quantities] == [
        (q["kind"], q["low"], q["unit"]) for q in seen.quantities]
    assert (found.claim_id, found.verdict, found.topics) == (seen.claim_id, seen.verdict, seen.topics)


# --------------------------------------------------------------------------- quantities

def q(kind, low, high, unit, framing="none"):
    return (kind, low, high, unit, framing)


QUANTITY_CASES = [
    ("results in as little as 24 hours", [q("onset", 24, 24, "hours", "as little as")]),
    ("Relief within minutes", [q("onset", 2 / 60, 59 / 60, "hours", "up to")]),
    ("the benefits last for up to six months", [q("duration", 182.5, 182.5, "days", "up to")]),
    ("More than 80% of patients received positive results.", [q("share", 80, 80, "percent", "more than")]),
    ("4 out of 5 patients respond", [q("share", 80, 80, "percent")]),
    ("four in five patients respond", [q("share", 80, 80, "percent")]),
    ("Response rates of 70–80% are reported", [q("share", 70, 80, "percent", "range")]),
    ("you may feel better in 1-3 days", [q("onset", 24, 72, "hours", "range")]),
    ("side effects fade in 1-3 days", [q("duration", 24, 72, "hours", "range")]),
    ("effects last ~2 weeks – 3 months", [q("duration", 14, 91.25, "days", "range")]),
    ("relief that lasts a year", [q("duration", 365, 365, "days")]),
    ("you will feel better within an hour", [q("onset", 1, 1, "hours", "up to")]),
    ("The infusion will take about 45 minutes to be completed.", [q("infusion_length", 45, 45, "minutes", "about")]),
    ("an IV infusion, which takes about 40 minutes", [q("infusion_length", 40, 40, "minutes", "about")]),
    ("each session lasting forty-five minutes", [q("infusion_length", 45, 45, "minutes")]),
    ("improvement within hours or days of the treatment", [q("onset", 2, 144, "hours", "range")]),
    ("Hours or days after beginning treatment, mood improves", [q("onset", 2, 144, "hours", "range")]),
    ("it works, frequently in just a few hours", [q("onset", 2, 4, "hours", "as little as")]),
    ("ketamine takes from several minutes to several hours", [q("onset", 0.05, 7, "hours", "range")]),
    ("effects typically last for several weeks", [q("duration", 21, 49, "days")]),
    ("relief lasting weeks or even months", [q("duration", 14, 334.5833, "days", "range")]),
    ("antidepressants take six to eight weeks to work", [q("onset", 42, 56, "days", "range")]),
    ("Some patients stay well for 3 months or longer",
     [q("count", 2, 11, "none"), q("duration", 91.25, 91.25, "days", "at least")]),
    ("the improvement tends to fade after about a week", [q("duration", 7, 7, "days", "about")]),
    ("roughly half of patients respond", [q("share", 50, 50, "percent", "about")]),
    ("two-thirds of patients improved", [q("share", 66.7, 66.7, "percent")]),
    ("at least 60 percent respond", [q("share", 60, 60, "percent", "at least")]),
    ("nearly 7 in 10 people", [q("share", 70, 70, "percent", "about")]),
    ("a series of six infusions", [q("count", 6, 6, "infusions")]),
    ("Some people improve with just one infusion", [q("count", 2, 11, "none"), q("count", 1, 1, "infusions")]),
    ("more than 5,000 ketamine infusions given", [q("count", 5000, 5000, "infusions", "more than")]),
    ("effects lasting between 2 and 4 weeks", [q("duration", 14, 28, "days", "range")]),
    ("results in twenty-four hours", [q("onset", 24, 24, "hours")]),
    # hundreds in words: "one hundred and fifty" had read as 50, "more than four hundred" (no noun) as nothing
    ("one hundred and fifty people took part", [q("count", 150, 150, "none")]),
    ("clinics, estimated at more than four hundred.", [q("count", 400, 400, "none", "more than")]),
    ("two hundred fifty participants", [q("count", 250, 250, "none")]),
    # modifiers before the count noun, a hyphenated word counting as one ("low-dose" had read a count of 2 things)
    ("two or three follow-up sessions", [q("count", 2, 3, "infusions", "range")]),
    ("one to two low-dose treatments", [q("count", 1, 2, "infusions", "range")]),
    ("a series of six IV ketamine infusions", [q("count", 6, 6, "infusions")]),
    ("one or several intravenous infusions", [q("count", 1, 7, "infusions", "range")]),
    ("two patients receiving treatments", [q("count", 2, 2, "none")]),  # the count is of patients
    # "each 40-minute infusion" had been skipped as a rate ("each day"); "an hour and a half" had read as an hour
    ("each 40-minute infusion is monitored", [q("infusion_length", 40, 40, "minutes")]),
    ("infusions last about an hour and a half", [q("infusion_length", 90, 90, "minutes", "about")]),
    # the count before a length ("six 40-minute infusions" had read only the length, "six one-hour" only the count)
    ("six 40-minute infusions", [q("count", 6, 6, "infusions"), q("infusion_length", 40, 40, "minutes")]),
    ("six one-hour infusions", [q("count", 6, 6, "infusions"), q("infusion_length", 60, 60, "minutes")]),
    # a dosing schedule's points, the unit word first (Spravato pages: "weeks 1 to 4" had read as 1-4 of nothing)
    ("twice a week for weeks 1 to 4", [q("count", 2, 2, "none"), q("other", 7, 28, "days", "range")]),
    ("every 2 weeks for week 9 and after", [q("other", 14, 14, "days"), q("other", 63, 63, "days", "at least")]),
    ("On day 1 you take 56 mg.", [q("other", 1, 1, "days"), q("other", 56, 56, "mg")]),
    # a count range over a plain noun ("two or three inhalers" had read as three)
    ("either two or three inhalers", [q("count", 2, 3, "none", "range")]),
    ("in 3-5 studies", [q("count", 3, 5, "none", "range")]),
    ("relief lasts 62.5 hours", [q("duration", 62.5, 62.5, "hours")]),
    ("they usually pass within an hour or two", [q("onset", 1, 2, "hours", "range")]),
    ("the effect is gone in under 2 days", [q("onset", 48, 48, "hours", "up to")]),
    ("Relief for 4+ weeks", [q("duration", 28, 28, "days", "at least")]),
    # not quantities
    ("Ketamine has been used since the 1960s and in 2019 was approved.", []),
    ("Call (555) 010-2340 or +91-9971774999 today.", []),
    ("Schedule at 800-555-0199.", []),
    ("Over the past few years ketamine became popular.", [q("other", 730, 1460, "days")]),  # a span, not a claim
    ("Ketamine has been used safely for decades.", [q("other", 7300, 32850, "days")]),
    ("We check your blood pressure every 15 minutes.", [q("other", 0.25, 0.25, "hours")]),  # how often
    ("Boosters every 3-4 weeks keep the effect going.", [q("other", 21, 28, "days", "range")]),
    ("5 Benefits of Ketamine Infusion Therapy", [q("count", 5, 5, "none")]),
    ("A dose of 0.5 mg/kg is typical.", [q("other", 0.5, 0.5, "mg/kg")]),  # a dose: read, never compared
    ("Spravato is given at 56-84 mg.", [q("other", 56, 84, "mg", "range")]),
    ("The price is $1,500 per infusion.", [q("other", 1500, 1500, "USD")]),  # a price: read, never compared
    # ages, large counts, dozens, hyphenated shares, "one" before a noun, an ordinal range
    ("It is approved for adolescents ages 12 to 17.", [q("other", 4380, 6205, "days", "range")]),
    ("He first tried it at age 19.", [q("other", 6935, 6935, "days")]),
    ("adults aged 60 and older", [q("other", 21900, 21900, "days", "at least")]),
    ("Most are in their 40s.", [q("other", 14600, 17885, "days", "range")]),
    ("One-in-five teenage girls", [q("share", 20, 20, "percent")]),
    ("nearly 2.4 million teens", [q("count", 2.4e6, 2.4e6, "none", "about")]),
    ("845,000 adolescents", [q("count", 845000, 845000, "none")]),
    ("over a dozen different oral antidepressant medications", [q("count", 12, 12, "none", "more than")]),
    ("more than two dozen treatments", [q("count", 24, 24, "infusions", "more than")]),
    ("half a dozen sessions", [q("count", 6, 6, "infusions")]),
    ("after a second or third infusion", [q("count", 2, 3, "infusions")]),
    ("by their 1st or 2nd infusion", [q("count", 1, 2, "infusions")]),
    ("Patients who failed one antidepressant", [q("count", 1, 1, "none")]),
    ("at least one major depressive episode", [q("count", 1, 1, "none", "at least")]),
    ("Two of the most innovative options are TMS and ketamine.", [q("count", 2, 2, "none")]),
    # a hyphen inside a word does not count as one of the four words a count may run over
    ("after at least two failed anti-depressant medications", [q("count", 2, 2, "none", "at least")]),
    ("two FDA-approved glutamatergic agents", [q("count", 2, 2, "none")]),
    ("No one knows why.", []),
    ("Most patients feel better after the first infusion.",
     [q("share", 50, 50, "percent", "more than"), q("count", 1, 1, "infusions")]),  # as "the majority of"
    ("We treat the most patients in the state.", []),
    ("Most insurance plans cover it.", []),
    ("We are just 90 minutes outside of Washington.", [q("other", 1.5, 1.5, "hours")]),  # how far, not how soon
    ("Relief can come within 24 hours from the first dose.",
     [q("onset", 24, 24, "hours", "up to"), q("count", 1, 1, "infusions")]),
    ("Our team has 25 years of combined clinical experience.", [q("other", 9125, 9125, "days")]),
    ("It is one of the most studied drugs.", []),
    ("We offer one-on-one support.", []),
    ("Sessions last 1 ½ hours each.", [q("infusion_length", 90, 90, "minutes")]),
    ("It was discovered decades ago.", [q("other", 7300, 32850, "days")]),
    ("She spent years trying medications.", [q("other", 730, 3650, "days")]),
    ("Hours of operation: Monday to Friday.", []),  # when the clinic is open
    ("The benefits can last after only a few treatments.", [q("count", 2, 4, "infusions")]),
    ("Patients who have tried at least two traditional anti-depressants", [q("count", 2, 2, "none", "at least")]),
    ("Millions of people live with depression.", [q("count", 2e6, 999e6, "none")]),
    # "many patients", "numerous studies": vague counts, as labellers record them (a question asks for none)
    ("Many patients need more infusions.", [q("count", 3, 11, "none")]),
    ("Numerous studies have shown it works.", [q("count", 3, 11, "none")]),
    ("How many infusions will I need?", []),
    ("Infusions are given twice a week for two consecutive weeks.",
     [q("count", 2, 2, "none"), q("duration", 14, 14, "days")]),
    # "most patients" is more than half, as "the majority of patients" (labellers record it so)
    ("Most patients notice improvement within one week.",
     [q("share", 50, 50, "percent", "more than"), q("onset", 7, 7, "days", "up to")]),
    ("Each session is 40-60 min.", [q("infusion_length", 40, 60, "minutes", "range")]),
    ("The doses are a fraction (10-25%) of anesthetic doses.", [q("share", 10, 25, "percent", "range")]),
    ("Relief can begin within hours, not weeks.", [q("onset", 2, 23, "hours", "up to"), q("onset", 14, 28, "days")]),
    ("Relief in hours rather than the usual weeks.", [q("onset", 2, 23, "hours"), q("onset", 14, 28, "days")]),
    ("Most patients start with multiple sessions.",
     [q("share", 50, 50, "percent", "more than"), q("count", 2, 7, "infusions")]),
    ("It is not approved for multiple sclerosis.", []),
    ("About 66% respond after the 4th session.",
     [q("share", 66, 66, "percent", "about"), q("count", 4, 4, "infusions")]),
    ("Roughly 25 years ago, researchers noticed it.", [q("other", 9125, 9125, "days", "about")]),
    # an age and an illness's back-story are not how long an effect lasts
    ("Emma, a 35-year-old designer, battled severe depression for over a decade.",
     [q("other", 12775, 12775, "days"), q("other", 3650, 3650, "days", "more than")]),
    ("He was 42 years old.", [q("other", 15330, 15330, "days")]),
    ("She had lived with depression for 15 years.", [q("other", 5475, 5475, "days")]),
    ("Patients suffering from depression often feel relief for up to six months.",
     [q("duration", 182.5, 182.5, "days", "up to")]),
    ("The patent expired after 20 years.", [q("other", 7300, 7300, "days")]),  # nothing takes years to work
    ("Relief can last for up to a year.", [q("duration", 365, 365, "days", "up to")]),
    # a dose written from its decimal point; a range sharing its multiplier; a price range, a rate, a pound
    ("A single dose (.5mg/kg) was compared to midazolam.",
     [q("count", 1, 1, "infusions"), q("other", 0.5, 0.5, "mg/kg")]),
    ("With 13-14 million patients diagnosed annually.", [q("count", 13e6, 14e6, "none", "range")]),
    ("Between 2 and 3 million adults have it.", [q("count", 2e6, 3e6, "none", "range")]),
    ("Doctors typically charge $400-800 per infusion.", [q("other", 400, 800, "USD", "range")]),
    ("Care runs £3500-£5200 per month.", [q("other", 3500, 5200, "GBP", "range")]),
    ("It costs more than $635 billion a year.", [q("other", 635e9, 635e9, "USD", "more than")]),
    ("Infusions cost less than $10 each.", [q("other", 10, 10, "USD", "up to")]),
    # relapse after a time is how long relief lasted, not how soon it came
    ("They had a median time to relapse of 41 days.", [q("duration", 984, 984, "hours")]),
    ("People tend to relapse within several days to a week.", [q("duration", 3, 7, "days", "range")]),
    # a step of a schedule, and a course after "initial" (not "the past two treatments", which looks back)
    ("Patients take Spravato twice a week for the first month.",
     [q("count", 2, 2, "none"), q("other", 30.4167, 30.4167, "days")]),
    ("You schedule your initial 6 infusion appointments.", [q("count", 6, 6, "infusions")]),
    ("Unlike the past two treatments, this one worked.", []),
    # amounts in words: "some", "many of the", "a (wide) range of", "various"; not "some time" or a bare "for some"
    ("For some people, therapy helps.", [q("count", 2, 11, "none")]),
    ("Many of the traditional treatment methods fail.", [q("count", 3, 11, "none")]),
    ("So many of them improve.", [q("count", 3, 11, "none")]),
    ("A wide range of studies support it.", [q("count", 2, 11, "none")]),
    ("Various IV therapy clinics opened.", [q("count", 2, 11, "none")]),
    ("It takes some time.", []),
    ("This could be why for some, it works.", []),
    ("The dose range of 0.5 to 1 mg/kg.", [q("other", 0.5, 1, "mg/kg", "range")]),
    # half an hour is a time, not a share; a (half) century is history; a sample size is a count
    ("It takes about half an hour.", [q("onset", 0.5, 0.5, "hours", "about")]),
    ("Each session takes a half hour.", [q("infusion_length", 30, 30, "minutes")]),
    ("It was used for over half a century.", [q("other", 18250, 18250, "days", "more than")]),
    ("Ketamine was developed over a half century ago.", [q("other", 18250, 18250, "days", "more than")]),
    ("It has been used for more than a century.", [q("other", 36500, 36500, "days", "more than")]),
    ("Over half of patients respond.", [q("share", 50, 50, "percent", "more than")]),
    ("Responders (n = 14) relapsed later.", [q("count", 14, 14, "none")]),
    # acute effects wearing off are not relief coming; a bracketed dose range is not a phone number
    ("This usually subsides within a few hours.", [q("other", 2, 4, "hours", "up to")]),
    ("The effects wear off after two hours.", [q("other", 2, 2, "hours")]),
    ("Most physical effects subside within the first day:", [q("other", 24, 24, "hours", "up to")]),
    ("Relief comes within the first week.", [q("onset", 7, 7, "days", "up to")]),
    ("Moderately low doses (100–200mg) are used.", [q("other", 100, 200, "mg", "range")]),
    ("Call (800)-555-1234 today.", []),
]


@pytest.mark.parametrize(("text", "expected"), QUANTITY_CASES, ids=[c[0][:40] for c in QUANTITY_CASES])
def test_quantity_normalisation(text, expected):
    got = [(x.kind, x.low, x.high, x.unit, x.framing) for x in extract_quantities(text)]
    assert len(got) == len(expected), got
    for g, e in zip(got, expected, strict=True):
        assert g[0] == e[0] and g[3:] == e[3:], (g, e)
        assert g[1] == pytest.approx(e[1], abs=0.01) and g[2] == pytest.approx(e[2], abs=0.01), (g, e)


def test_a_number_with_its_own_unit_is_not_a_schedule_point():
    """ "a day 7 days a week": the 7 is days' own, not day 7 of a course."""
    assert not [x for x in extract_quantities("open 24 hours a day 7 days a week") if x.kind == "other"]
    assert not [x for x in extract_quantities("in week 2 patients improved") if x.text.startswith("week")]


def test_quantity_offsets_and_text():
    sentence = "Patients improve in as little as 24 hours and 80% respond."
    found = extract_quantities(sentence)
    assert [x.text for x in found] == ["in as little as 24 hours", "80%"]
    assert all(sentence[x.start:x.end] == x.text for x in found)
    assert set(found[0].record()) == {"kind", "low", "high", "unit", "framing", "text", "vague"}
    assert not any(x.vague for x in found)
    [many, hours] = extract_quantities("Many patients feel better within hours.")
    assert many.vague and hours.vague and many.record()["vague"] is True


# --------------------------------------------------------------------------- topics

@pytest.mark.parametrize(("sentence", "topic"), [
    ("Ketamine can swiftly alleviate suicidal ideation.", "suicidal thoughts"),
    ("Ketamine has a lower risk of addiction and dependence than standard antidepressants.",
     "abuse and addiction"),
    ("It produces results in as little as 24 hours.", "onset"),
    ("The effects typically last for several weeks.", "duration"),
    ("More than 80% of patients received positive results.", "response rate"),
    ("Ketamine blocks NMDA receptors for glutamate.", "mechanism"),
    ("Common side effects include nausea and dizziness.", "safety and side effects"),
    ("It may help anxiety, bipolar disorder and PTSD.", "other conditions"),
    ("Ketamine improves quality of life and sleep.", "quality of life"),
    ("It is effective for treatment-resistant depression.", "treatment-resistant depression"),
    ("Patients need a designated driver after the treatment in our clinic.", "setting"),
    ("Ketamine is an effective treatment.", "general efficacy"),
    # phrasings of the twenty-third collection's development half (health publishers, wellness explainers)
    ("It is given when the patient stopped responding to medications.", "treatment-resistant depression"),
    ("When medications are not providing sufficient relief, ketamine is an option.", "treatment-resistant depression"),
    ("With your dose, some people reach the K-hole.", "safety and side effects"),
    ("Spravato is not for use in children.", "safety and side effects"),
    ("Call us today.", None),
    ("Is ketamine addictive?", None),  # a question asserts nothing
    ("The History of Ketamine", None),  # nor does a heading
])
def test_topics(sentence, topic):
    assert classify_topic(sentence) == topic


def test_topic_vocabulary_is_the_schema_s():
    assert set(topics.CUES) == set(Topic.__args__)


# --------------------------------------------------------------------------- verdict rules

def test_rules_use_the_verdict_vocabulary():
    for rule_id, (verdict, text) in RULES.items():
        assert verdict is None or verdict in Verdict.__args__, rule_id
        assert text and text[0].islower(), rule_id


@pytest.mark.parametrize(("sentence", "topic", "rule"), [
    ("More than 80% of patients respond.", "response rate", "share_above_ci"),
    ("About 50% of patients respond.", "response rate", "share_within_ci"),
    ("At least 20% of patients respond.", "response rate", "share_below_ci"),
    ("It works within 30 minutes.", "onset", "onset_unmeasured"),
    ("It works within minutes.", "onset", "onset_before_significant"),
    ("It works within 2 hours.", "onset", "onset_single_study"),
    ("It works in as little as 24 hours.", "onset", "onset_consistent"),
    ("Benefits last up to six months.", "duration", "duration_beyond_all"),
    ("Effects last for several weeks.", "duration", "duration_beyond_typical"),
    ("Effects last for a few days.", "duration", "duration_within"),
])
def test_verdict_rules_on_the_synthetic_evidence(fixture_data, sentence, topic, rule):
    """Synthetic evidence: blinded-RCT response 47.6% [37.6, 57.8] (k=3); earliest measured 40 min,
    earliest significant 2 h (one trial), three trials significant by 24 h; durations 7, 18, 21, 60 days."""
    _, tables = fixture_data
    summary = summarise_evidence(tables)
    quantity = extract_quantities(sentence)[0]
    rule_id, evidence = compare_quantity(quantity, topic, summary)
    assert rule_id == rule
    assert evidence["claimed"]["text"] == quantity.text and evidence["summary"]


def test_pooled_response_summary(fixture_data):
    _, tables = fixture_data
    pooled = summarise_evidence(tables)["response"]
    blinded = pooled["blinded_rct"]
    assert blinded["k"] == 3 and blinded["studies"] == ["trial_a", "trial_b", "trial_c"]
    assert blinded["estimate"] == pytest.approx(47.6, abs=0.1)
    assert blinded["ci_low"] < blinded["estimate"] < blinded["ci_high"]
    # the open-label series' response is 24 h after the last of six infusions: an end-of-course result, which the
    # single-dose 24-h window leaves out (issue 13), so the context figure has the three trials only
    assert pooled["all"]["k"] == 3 and pooled["all"]["studies"] == blinded["studies"]


def test_no_rule_for_other_topics_or_comparators(fixture_data):
    _dataset, tables = fixture_data
    summary = summarise_evidence(tables)
    assert compare_quantity(extract_quantities("80% of people")[0], "safety and side effects", summary) is None
    [finding] = check_text("Unlike SSRIs, which can take six to eight weeks to work, it differs.", None, tables)
    assert finding.quantities and finding.verdict is None


def test_unmatched_sentence_gets_the_rule_based_verdict(fixture_data):
    _, tables = fixture_data
    [f] = check_text("Ninety percent of patients respond within 24 hours.", None, tables)
    assert f.claim_id is None and f.verdict == "Overstated"
    assert f.rule == RULES["share_above_ci"][1]
    assert f.evidence["pooled"]["k"] == 3


@pytest.mark.parametrize("sentence", ["Can ninety percent of patients respond within 24 hours?",
                                      "Ninety Percent Of Patients Respond Within 24 Hours"])
def test_a_question_or_a_heading_gets_no_rule_verdict(fixture_data, sentence):
    """The same figures as the sentence above, asked or as a heading: nothing is asserted, nothing judged."""
    _, tables = fixture_data
    [f] = check_text(sentence, None, tables, include_all=True, as_sentence=True)
    assert f.quantities and f.verdict is None and f.rule is None


@pytest.mark.parametrize("sentence", ["See why ketamine is effective for 90 percent of patients within 24 hours.",
                                      "Emma, 35, had battled depression for over a decade before ketamine."])
def test_a_call_to_action_or_a_back_story_gets_no_rule_verdict(real_data, sentence):
    """A call to action asserts nothing; a testimonial's back-story states a figure on no topic of the treatment,
    so no curated claim's verdict becomes its floor either (it got "Partly supported" from the six-months claim)."""
    dataset, tables = real_data
    [f] = check_text(sentence, dataset, tables, include_all=True, as_sentence=True)
    assert f.quantities and f.verdict is None and f.rule is None and f.claim_id is None


def test_repeated_sentences_are_checked_once_and_keep_their_own_offsets(fixture_data):
    _, tables = fixture_data
    line = "Ninety percent of patients respond within 24 hours."
    text = f"{line}\nKetamine is an anesthetic.\n{line}"
    first, *_, last = check_text(text, None, tables)
    assert (first.start, last.start) == (0, text.rindex(line)) and text[last.start:last.end] == line
    assert first.verdict == last.verdict == "Overstated" and first.quantities == last.quantities
    assert first.quantities is not last.quantities  # not shared: a caller may change one


def test_several_figures_take_the_most_severe_verdict(fixture_data):
    _, tables = fixture_data
    [f] = check_text("Effects last for several weeks, and some feel the benefits for up to six months.", None, tables)
    assert f.verdict == "Overstated" and f.evidence["claimed"]["text"] == "up to six months"
    assert [o["verdict"] for o in f.evidence["other_figures"]] == ["Partly supported"]


def test_matched_sentence_reports_the_curated_verdict(fixture_data):
    dataset, tables = fixture_data
    [f] = check_text("More than 80% of patients received positive results.", dataset, tables)
    assert f.claim_id == "response_80" and f.similarity == 100
    assert f.verdict == dataset.claim("response_80").verdict and f.rule == RULES["curated"][1]
    # the rule-based view is kept beside it: like for like, a share with no time point is not compared
    assert f.evidence["suggested"]["rule_id"] == "no_comparable" and f.evidence["suggested"]["verdict"] is None


def test_findings_to_records_are_json(fixture_data):
    dataset, tables = fixture_data
    text = (FIX / "heldout_3_novamind.txt").read_text(encoding="utf-8")
    records = findings_to_records(check_text(text, dataset, tables))
    assert records and list(records[0]) == checker.FIELDS
    json.dumps(records, allow_nan=False)
    flat = findings_to_records(check_text(text, dataset, tables), flat=True)
    assert all(isinstance(r["quantities"], str) and isinstance(r["evidence"], str) for r in flat)


# --------------------------------------------------------------------------- matching on held-out pages

def labelled_sentences(page: str) -> list[tuple[str, set[str], bool]]:
    """(sentence, acceptable claim ids, optional) for every sentence of a held-out page."""
    label = LABELS[page]
    expected = {m["text"]: (m["claim"], False) for m in label.get("matches", [])}
    expected |= {m["text"]: (m["claim"], True) for m in label.get("optional", [])}
    raw = (FIX / page).read_text(encoding="utf-8")
    text = extract_text(raw) if checker.looks_like_html(raw) else raw
    out, seen = [], set()
    for s in split_sentences(text):
        keys = [k for k in expected if k in s.text]
        assert len(keys) <= 1, (page, s.text)
        claims, optional = expected[keys[0]] if keys else ((), False)
        seen.update(keys)
        out.append((s.text, set([claims] if isinstance(claims, str) else claims), optional))
    assert seen == set(expected), f"labels not found in {page}: {set(expected) - seen}"
    return out


def precision_recall(pages: list[str], dataset, threshold: float) -> tuple[float, float, int, int, int]:
    tp = fp = fn = 0
    index = checker.claim_index(dataset)
    for page in pages:
        for sentence, expected, optional in labelled_sentences(page):
            figures = checker._figures_as_quantities(extract_quantities(sentence))
            ranked = index.scores(sentence, figures)
            predicted = ranked[0][1] if ranked and ranked[0][0] >= threshold else None
            if predicted is None:
                fn += bool(expected) and not optional
            elif predicted in expected:
                tp += 1
            else:
                fp += 1
                fn += bool(expected) and not optional
    return tp / max(1, tp + fp), tp / max(1, tp + fn), tp, fp, fn


def test_labels_name_real_fixture_claims_and_sentences(fixture_data):
    dataset, _ = fixture_data
    ids = {c.id for c in dataset.claims}
    for page, label in LABELS.items():
        for m in label.get("matches", []) + label.get("optional", []):
            claims = [m["claim"]] if isinstance(m["claim"], str) else m["claim"]
            assert set(claims) <= ids, (page, claims)
        text = (FIX / page).read_text(encoding="utf-8").replace("&ndash;", "–")
        for negative in label.get("hard_negatives", []):
            assert negative in text, (page, negative)
    assert len(LABELS) >= 4


def test_synthetic_pages_still_match_with_the_synthetic_claims(fixture_data):
    """The synthetic pages against the synthetic claim set: claims with no paraphrase examples at all, as a newly
    curated claim would be.  The re-ranker was fitted on real pages, where the examples (classifier, votes) carry
    a match and bare word overlap adds nothing (its weight is bounded at zero: left free it came out negative, and
    this test then fell to recall 0.38).  Measured at MATCH_THRESHOLD: precision 0.89 (25 right, 3 wrong), recall
    0.50 (0.58 twelve refits ago, then 0.46, 0.40, 0.42, 0.50, 0.52, 0.52, 0.48, 0.52, 0.48, 0.46 and 0.48: the more
    paraphrase examples the curated claims have, the less a claim without any is matched, so a newly curated claim
    needs examples; the exact-figure feature brought some back).  Precision was 0.96 (one wrong) before sentences
    asserting two claims became examples of both; when last listed, the three wrong matches named a neighbouring
    onset claim ("rapidly reduce
    suicidal thoughts, often within a day" as the 24-hour claim, "within an hour" as the minutes claim, "half of
    patients responded 24 hours after" as the 24-hour claim).  The bar keeps such claims matchable at all and
    nearly every match right."""
    dataset, _ = fixture_data
    precision, recall, *_ = precision_recall(list(LABELS), dataset, MATCH_THRESHOLD)
    assert precision >= 0.85 and recall >= 0.35, (precision, recall)


REAL_LABELS = yaml.safe_load((FIX / "heldout_labels_real.yaml").read_text(encoding="utf-8"))["pages"]


def test_threshold_carries_over_to_the_curated_claims(monkeypatch):
    """The held-out pages labelled against data/claims.yaml (39 claims when written): at the threshold chosen on the
    synthetic claims, precision 0.92 and recall 0.73 (45 right, 4 wrong, 17 missed). With the re-ranker fitted on
    real pages, precision 0.84 and recall 0.79 (54 right, 10 wrong), with fifteen collections 0.90 and 0.84 (56
    right, 6 wrong), with sixteen 0.88 and 0.84 (56 right, 8 wrong), with seventeen 0.88 and 0.84 (56 right, 8
    wrong), with eighteen 0.88 and 0.84 (57 right, 8 wrong), with nineteen (threshold 41) 0.91 and 0.85 (58
    right, 6 wrong), with twenty (threshold 39) 0.91 and 0.87 (59 right, 6 wrong), and with twenty-two (threshold
    36) 0.90 and 0.88 (60 right, 7 wrong): most of the wrong ones name
    a neighbouring claim (a
    full course for relief lasting weeks, the glutamate surge for the NMDA receptor, the 1960s for "developed in the
    1960s ... found to have antidepressant effects"), so the bar is 0.80."""
    if not (data_dir() / "claims.yaml").exists():
        pytest.skip("data/claims.yaml is absent: the curated claims have not been written yet")
    dataset = load_dataset()
    ids = {c.id for c in dataset.claims}
    wanted = {c for label in REAL_LABELS.values() for m in label.get("matches", []) + label.get("optional", [])
              for c in ([m["claim"]] if isinstance(m["claim"], str) else m["claim"])}
    if not wanted <= ids:
        pytest.skip(f"data/claims.yaml no longer has {sorted(wanted - ids)}: relabel heldout_labels_real.yaml")
    monkeypatch.setattr(f"{__name__}.LABELS", REAL_LABELS)
    precision, recall, *_ = precision_recall(list(REAL_LABELS), dataset, MATCH_THRESHOLD)
    assert precision >= 0.80 and recall >= 0.65, (precision, recall)  # loose: the curated file grows


@pytest.mark.parametrize("page", list(LABELS))
def test_held_out_numeric_claims_are_found_and_normalised(page):
    raw = (FIX / page).read_text(encoding="utf-8")
    text = extract_text(raw) if checker.looks_like_html(raw) else raw
    sentences = split_sentences(text)
    for item in LABELS[page].get("quantities", []):
        [sentence] = [s.text for s in sentences if item["text"] in s.text]
        got = extract_quantities(sentence)
        for e in item["expect"]:
            assert any(
                g.kind == e["kind"] and g.unit == e["unit"] and g.framing == e["framing"]
                and g.low == pytest.approx(e["low"], abs=0.01) and g.high == pytest.approx(e["high"], abs=0.01)
                for g in got), (sentence, e, [g.record() for g in got])


# --------------------------------------------------------------------------- the five real pages

REAL_CLAIMS = data_dir() / "claims.yaml"


def _pages():
    directory = sources_dir()
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.glob("*.txt"))


@pytest.fixture(scope="module")
def real_data():
    if not REAL_CLAIMS.exists():
        pytest.skip("data/claims.yaml is absent: the curated claims have not been written yet")
    dataset = load_dataset()
    return dataset, build_tables(dataset)


@pytest.mark.skipif(not _pages(), reason="the saved marketing pages (shared/sources) are not on this machine")
@pytest.mark.parametrize("page", _pages() or ["none"])
def test_every_curated_claim_is_found_in_its_own_page(real_data, page):
    dataset, tables = real_data
    sources = [s.id for s in dataset.sources if s.file == page]
    if not sources:
        pytest.skip(f"no source in data/sources.yaml names {page}")
    text = (sources_dir() / page).read_text(encoding="utf-8")
    findings = check_text(text, dataset, tables)
    found = {f.claim_id for f in findings} | {o["claim_id"] for f in findings for o in f.other_claims}
    expected = {c.id for c in dataset.claims for a in c.appearances if a.source in sources}
    assert expected, page
    assert expected <= found, f"claims not found in {page}: {sorted(expected - found)}"
    # and each quote is matched by the sentence it is in, to its own claim
    for claim in dataset.claims:
        for app in claim.appearances:
            at = text.find(app.quote.rstrip(".;:"))
            if app.source not in sources or at < 0:
                continue
            here = [f for f in findings if f.start <= at < f.end]
            assert here and any(claim.id in {f.claim_id} | {o["claim_id"] for o in f.other_claims}
                                for f in here), (claim.id, app.quote)


@pytest.mark.skipif(not _pages(), reason="the saved marketing pages (shared/sources) are not on this machine")
def test_real_pages_findings_are_ordered_and_verdicts_valid(real_data):
    dataset, tables = real_data
    for page in _pages():
        text = (sources_dir() / page).read_text(encoding="utf-8")
        findings = check_text(text, dataset, tables)
        assert [f.start for f in findings] == sorted(f.start for f in findings)
        for f in findings:
            assert text[f.start:f.end] == f.sentence
            assert f.verdict is None or f.verdict in Verdict.__args__
            assert f.topic is None or f.topic in Topic.__args__
            if f.claim_id:
                assert f.similarity >= MATCH_THRESHOLD and f.verdict == dataset.claim(f.claim_id).verdict


# --------------------------------------------------------------------------- real pages: the new behaviours

def test_title_case_heading_is_cut_from_the_sentence_in_plain_text():
    assert texts("Quick Effects Ketamine therapy is fast and works for many people.") == [
        "Quick Effects", "Ketamine therapy is fast and works for many people."]
    # a proper name that runs on is not a heading
    assert texts("The National Institute of Mental Health reports that ketamine works.") == [
        "The National Institute of Mental Health reports that ketamine works."]


def test_bold_run_in_heading_in_html_is_its_own_line():
    text = extract_text("<p><strong>Quick effects</strong> Ketamine therapy is fast.</p><p>Call us.</p>")
    assert text.splitlines() == ["Quick effects", "Ketamine therapy is fast.", "Call us."]


def test_main_text_keeps_headings_and_list_items():
    from evidence.checking.sentences import main_text

    body = "".join(f"<p>Paragraph {i} about ketamine therapy and what the clinic offers to its patients.</p>"
                   for i in range(8))
    page = (f"<html><body><nav><a href='/'>Home</a></nav><article><h2>Quick Effects</h2>{body}"
            "<ul><li>Relief in as little as 24 hours</li><li>Safe</li></ul></article></body></html>")
    lines = main_text(page).splitlines()
    assert "Quick Effects" in lines and "Relief in as little as 24 hours" in lines


@pytest.mark.parametrize(("sentence", "expected"), [
    ("⅔ of patients respond", [q("share", 66.7, 66.7, "percent")]),
    ("½% of patients had a seizure", [q("share", 0.5, 0.5, "percent")]),  # half a per cent, not half of them
    ("fewer than ¼ percent of patients", [q("share", 0.25, 0.25, "percent", "up to")]),
    ("one-third of patients improve", [q("share", 33.3, 33.3, "percent")]),
    ("one in three people respond", [q("share", 33.33, 33.33, "percent")]),
    ("4 out of 5 patients feel better", [q("share", 80, 80, "percent")]),
    ("more than half show improvement", [q("share", 50, 50, "percent", "more than")]),
    ("a majority of patients respond", [q("share", 50, 50, "percent", "more than")]),
    ("relief that lasts many months", [q("duration", 91.25, 334.58, "days")]),
    ("6 to 8 sessions are needed", [q("count", 6, 8, "infusions", "range")]),
    ("after the third infusion", [q("count", 3, 3, "infusions")]),
    ("one-fifth of patients relapse", [q("share", 20, 20, "percent")]),
    ("roughly 1/3 of patients respond", [q("share", 33.3, 33.3, "percent", "about")]),
    ("infusions 2x per week", [q("count", 2, 2, "none")]),
    ("patients who tried at least two antidepressants", [q("count", 2, 2, "none", "at least")]),
    ("side effects lasting longer than 24 hours after treatment", [q("duration", 24, 24, "hours", "more than")]),
])
def test_numbers_in_words_and_fractions(sentence, expected):
    test_quantity_normalisation(sentence, expected)


@pytest.mark.parametrize(("sentence", "wanted", "unwanted"), [
    ("Ketamine works within 24 hours and the relief lasts for weeks.", {"onset", "duration"}, set()),
    ("About 70% of patients respond after one infusion.", {"response rate"}, set()),
    ("Clinical trials show ketamine is effective.", {"general efficacy"}, {"setting"}),
    ("In the last decade ketamine became popular.", set(), {"duration"}),
    ("It helped me break out of a dark place.", set(), {"response rate"}),
    ("Patients with treatment resistent depression often respond.", {"treatment-resistant depression"}, set()),
    ("Esketamine is used to treat treatment -resistant depression.", {"treatment-resistant depression"}, set()),
    # real words one letter from a domain word are not its misspelling
    ("In addition, changes in the hippocampus reduce the functions of neurons.", set(), {"abuse and addiction"}),
    ("Patients must have a history of at least two failed anti-depressant medications.",
     {"treatment-resistant depression"}, {"abuse and addiction"}),
    ("Our physicians have a combined 30 years of experience.", set(), {"duration"}),
    ("Ketamine has been used as an anesthetic since the 1960s.", {"history"}, set()),
    ("You may be juggling work, childcare and a nervous system that never settles.", set(), {"general efficacy"}),
    ("Ketamine can work when other medications have not.", {"general efficacy"}, set()),
    ("Ketamine is an off-label treatment for depression.", {"history"}, set()),
    ("Can relieve depression within hours", {"onset"}, set()),  # a bullet that opens with a verb still asserts
    ("Ketamine is fast-acting.", {"onset"}, set()),  # a cue is a whole hyphenated word: "fast" alone missed it
    ("Fast forward to today, and ketamine is used in mental health.", set(), {"onset"}),
    ("Please fast that morning.", set(), {"onset"}),  # going without food before an infusion
    ("We will ask you to fast for 8 hours before your infusion.", set(), {"onset"}),
    ("Relief comes fast for many patients.", {"onset"}, set()),
    ("The resolution of symptoms can occur within days rather than weeks, as with other common antidepressants.",
     {"onset"}, set()),  # set against antidepressants, so about ketamine, not background
    ("Ketamine is one of the most promising innovations in mental health in decades.", set(), {"onset"}),
    ("Spravato is an intranasal medication taken with an oral antidepressant.", {"regimen"}, set()),
    ("We offer a 6-week course of ketamine-assisted psychotherapy.", {"regimen"}, set()),
    ("For many, ketamine has been a lifeline.", {"general efficacy"}, set()),
    ("It helps people who haven't found relief with other medications.", {"treatment-resistant depression"}, set()),
    ("Ketamine may also ease symptoms of trauma.", {"other conditions"}, set()),
    # ketamine given with therapy is a regimen, and the story of its use is history
    ("KAP combines ketamine with psychotherapy.", {"regimen"}, set()),
    ("Ketamine is used in conjunction with talk therapy.", {"regimen"}, set()),
    ("Each course includes a preparation session and two integration sessions.", {"regimen"}, set()),
    ("In the early 2000s researchers began to study ketamine for depression.", {"history"}, set()),
    ("Over the last 10 years, much research on ketamine has been done.", {"history"}, {"duration"}),
    ("Ketamine was developed for use in surgery.", {"history"}, set()),
])
def test_topics_are_several_and_whole_word(sentence, wanted, unwanted):
    got = set(checker.classify_topics(sentence))
    assert wanted <= got and not (unwanted & got), got


@pytest.mark.parametrize("sentence", [
    "If you are in crisis, call or text 988, the Suicide and Crisis Lifeline.",
    "Book a free consultation today.",
    "Call us at (555) 010-2340 to schedule your first infusion.",
    "Depression affects 21 million adults in the United States.",
    "We are currently accepting patients with treatment resistant depression.",
    "We’re the first outpatient ketamine clinic treating depression and PTSD in the Texas panhandle.",
    "In this guide, we’ll explore how ketamine works, how fast it acts and whether it is safe.",
    "You may have heard that ketamine can relieve depression within hours.",
    "Here’s what you need to know to make an informed decision about ketamine therapy.",
    "How ketamine works differently",
    "We offer a free 30 minute consultation to answer your questions about ketamine.",
    "See why ketamine is effective.",
    "One of the most common questions patients ask is how many ketamine treatments are needed.",
    "People want to know how quickly relief may come and how long results last.",
    "If you are considering ketamine therapy, understanding its benefits and how it works is essential.",
    # fees and cancellations are booking text ("less than 2 days" had taken a verdict)
    "You will be responsible for the entire fee if cancellation is less than 2 days.",
    "A deposit is required to reserve your infusion series.",
])
def test_contact_crisis_and_background_text_gets_no_topic_and_no_verdict(fixture_data, sentence):
    dataset, tables = fixture_data
    assert checker.classify_topics(sentence) == []
    [f] = check_text(sentence, dataset, tables, include_all=True, as_sentence=True)
    assert f.verdict is None and f.claim_id is None


def test_what_the_drug_is_is_a_topic_for_the_reader_but_not_for_the_matcher():
    """ "Ketamine is a dissociative anesthetic" is labelled *history* in the corpus; shown to the matcher it drew
    matches to the history-of-use claim, which asserts how long ketamine has been used."""
    sentence = "Ketamine is a dissociative anesthetic."
    assert "history" in checker.classify_topics(sentence)
    assert "history" not in checker.classify_topics(sentence, descriptive=False)
    assert "history" in checker.classify_topics("Ketamine has been used for decades.", descriptive=False)
    structure = "It is a mixture of two mirror-image molecules, R- and S-ketamine."  # labelled mechanism
    assert "mechanism" in checker.classify_topics(structure)
    assert "mechanism" not in checker.classify_topics(structure, descriptive=False)


def test_a_sentence_about_ect_is_not_a_ketamine_claim(real_data):
    dataset, tables = real_data
    [f] = check_text("ECT is effective in about 50% of patients with treatment-resistant depression.", dataset,
                     tables, include_all=True, as_sentence=True)
    assert f.claim_id is None and f.verdict is None


def test_another_treatment_set_against_ketamine_unnamed_is_still_a_ketamine_sentence(real_data):
    """ "distinct from typical antidepressants": the unnamed side is ketamine, referred back to, so the sentence is
    matched (it had been vetoed as about another treatment only); one about the other treatment alone is not."""
    quick = "This quick response is distinct from typical antidepressants, which can take several weeks to work."
    assert not topics.other_treatment(quick)
    assert topics.other_treatment("SSRIs can take several weeks to work.")
    dataset, tables = real_data
    [f] = check_text("SSRIs can take several weeks to work.", dataset, tables, include_all=True, as_sentence=True)
    assert f.claim_id is None and f.verdict is None


def test_another_treatment_named_as_what_failed_leaves_the_sentence_to_ketamine(real_data):
    """ "for those who haven't found relief with traditional antidepressants": the other treatment is what failed,
    and the sentence is about what helps those it failed (it had been vetoed as about the other treatment only);
    a sentence that opens with the other treatment is still about it."""
    failed = "For many people who haven’t found relief with traditional antidepressants, this therapy offers new hope."
    assert not topics.other_treatment(failed) and not topics.is_background(failed)
    assert not topics.other_treatment("This is particularly useful when other treatments haven’t worked.")
    assert not topics.other_treatment("Pairing dosing visits with EMDR/CBT may help consolidate these gains.")
    assert topics.other_treatment("TMS is recommended for people who haven’t responded to antidepressant medications.")
    assert topics.other_treatment("Brain stimulation therapies offer hope to patients who have not found relief with "
                                  "traditional antidepressant medications.")
    dataset, tables = real_data
    [f] = check_text("TMS is recommended for people who haven’t responded to antidepressant medications.", dataset,
                     tables, include_all=True, as_sentence=True)
    assert f.claim_id is None and f.verdict is None


def test_cost_effective_is_no_price_text(real_data):
    """ "safe and cost-effective" had read as booking text: no topic, no claim, for a sentence on speed and safety."""
    dataset, tables = real_data
    sentence = "In addition to being safe and cost-effective, ketamine therapy also produces rapid results."
    assert not topics.is_contact(sentence) and topics.is_contact("Ask us about the cost of an infusion.")
    assert not topics.is_contact("After 12 treatments patients move to what we call the maintenance phase.")
    assert topics.is_contact("Call the office today to book your first infusion.")
    assert {"onset", "safety and side effects"} <= set(checker.classify_topics(sentence))
    [f] = check_text(sentence, dataset, tables, include_all=True, as_sentence=True)
    assert f.claim_id is not None  # the contact veto had kept it from the matcher (score 0)


def test_unmatched_share_without_a_time_window_is_not_compared(fixture_data):
    _, tables = fixture_data
    [f] = check_text("About 75%-80% of patients experience significant improvement.", None, tables)
    assert f.verdict is None and f.evidence["rule_id"] == "no_comparable"
    assert "time window" in " ".join(f.evidence["unlike"])


def test_unmatched_share_never_kinder_than_the_curated_claim_with_the_same_assertion(real_data):
    """The issue's case: 75-80% came out Supported while the curated "more than 80%" claim is Overstated."""
    dataset, tables = real_data
    index = checker.claim_index(dataset)
    summary = summarise_evidence(tables)
    sentence = "About 75%-80% of patients experience significant improvement."
    quantities = extract_quantities(sentence)
    verdict, _, evidence = checker.rule_verdict(quantities, checker.classify_topics(sentence), summary,
                                                checker.sentence_context(sentence, quantities), index, sentence)
    curated = dataset.claim("more_than_80_percent_respond").verdict
    assert verdict is not None and checker.SEVERITY[verdict] >= checker.SEVERITY[curated]
    assert evidence["rule_id"] == "same_assertion" and evidence["claim_id"] == "more_than_80_percent_respond"


def test_curated_assertions_as_unmatched_sentences_are_never_judged_more_kindly(real_data):
    """Every curated claim with a numeric assertion: its own quotes and its assertion, checked without matching,
    get a verdict at least as severe as the curated one."""
    dataset, tables = real_data
    index = checker.claim_index(dataset)
    summary = summarise_evidence(tables)
    checked = 0
    for claim in dataset.claims:
        asserted = checker.assertion_quantities(claim)
        if not asserted or asserted[0].kind not in ("share", "onset", "duration") or claim.verdict not in \
                checker.SEVERITY:
            continue
        verdict, _, _ = checker.rule_verdict(list(asserted), [claim.topic], summary, checker.Context(), index)
        assert verdict is not None and checker.SEVERITY[verdict] >= checker.SEVERITY[claim.verdict], claim.id
        for app in claim.appearances:
            quantities = extract_quantities(app.quote)
            if not any(x.kind == asserted[0].kind and matching_agree(x, asserted[0]) for x in quantities):
                continue
            verdict, _, _ = checker.rule_verdict(quantities, checker.classify_topics(app.quote), summary,
                                                 checker.sentence_context(app.quote, quantities), index, app.quote)
            assert verdict is not None and checker.SEVERITY[verdict] >= checker.SEVERITY[claim.verdict], app.quote
            checked += 1
        checked += 1
    assert checked >= 8


def matching_agree(a, b):
    from evidence.checking.matching import _agree

    return _agree(a, b)


def test_findings_table_is_plain_text(real_data):
    dataset, tables = real_data
    text = ("Ketamine produces results in as little as 24 hours. About 75%-80% of patients experience "
            "significant improvement. Call us today at (555) 010-2340.")
    from evidence.checking.table import TABLE_COLUMNS, findings_table

    rows = findings_table(check_text(text, dataset, tables), {c.id: c for c in dataset.claims})
    assert rows and all(set(r) == set(TABLE_COLUMNS) for r in rows)
    assert not any("{" in v or "rule_id" in v for r in rows for v in r.values())
    matched = [r for r in rows if r["claim"]]
    assert matched and matched[0]["verdict"] and matched[0]["why"]


def test_findings_csv_cannot_run_a_formula_from_the_page(real_data):
    """A page's sentence is the user's text: one opening with "=", "@" or "+" must reach Excel as text."""
    import csv
    import io

    from evidence.checking.table import TABLE_COLUMNS, findings_csv, findings_table

    dataset, tables = real_data
    text = ('=HYPERLINK("http://x","80% of patients respond") to ketamine within 24 hours.\n'
            "@SUM(1+1) Ketamine works in 24 hours for 80% of patients.\n"
            "+1+cmd|' /C calc'!A0 Ketamine relieves depression in 70% of patients.\n")
    rows = findings_table(check_text(text, dataset, tables, html=False), {c.id: c for c in dataset.claims})
    data = findings_csv(rows, dataset)
    assert data.startswith("\ufeff".encode()), "a byte-order mark, so that Excel reads UTF-8"
    read = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(read[0]) == TABLE_COLUMNS and len(read) == len(rows) == 3
    assert [r["sentence"][:2] for r in read] == ["'=", "'@", "'+"]
    assert all(r["sentence"][1:] == row["sentence"] for r, row in zip(read, rows, strict=True))


def test_an_unmatched_sentence_names_its_closest_claim_as_a_lead_without_a_verdict(fixture_data, monkeypatch):
    from evidence.checking.table import findings_table

    dataset, tables = fixture_data
    # the floor a little under this sentence's score against the synthetic claims (18.5 at the last refit, 22 the
    # one before), so that a refit moving it by a point or two does not hide the behaviour under test
    monkeypatch.setattr(checker, "LEAD_FLOOR", 15.0)
    findings = check_text(" ".join([
        "Ketamine effects can last.",
        "Book your consultation today.",
    ]), dataset, tables, html=False, include_all=True)
    leads = [f for f in findings if f.nearest]
    assert leads, [(f.sentence, f.similarity) for f in findings]
    assert all(f.claim_id is None and checker.LEAD_FLOOR <= f.nearest["similarity"] < MATCH_THRESHOLD
               for f in leads)
    assert not any(f.nearest for f in findings if "consultation" in f.sentence)  # contact text: no lead
    rows = findings_table(leads, {c.id: c for c in dataset.claims})
    assert all(r["claim"] == "" and "not matched; closest curated claim" in r["why"] for r in rows)


@pytest.mark.parametrize(("mine", "theirs", "further"), [
    (("share", 90, 90, "percent", "more than"), ("share", 80, 80, "percent", "more than"), True),
    (("share", 70, 70, "percent", "more than"), ("share", 80, 80, "percent", "more than"), False),
    (("share", 90, 90, "percent", "up to"), ("share", 80, 80, "percent", "more than"), False),
    (("onset", 1, 1, "hours", "up to"), ("onset", 24, 24, "hours", "as little as"), True),
    (("onset", 48, 48, "hours", "up to"), ("onset", 24, 24, "hours", "as little as"), False),
    (("duration", 365, 365, "days", "up to"), ("duration", 182.5, 182.5, "days", "up to"), True),
    (("duration", 30, 30, "days", "up to"), ("duration", 182.5, 182.5, "days", "up to"), False),
])
def test_a_figure_that_goes_further_than_a_curated_claim_shares_its_floor(mine, theirs, further):
    from evidence.checking.quantities import Quantity

    assert checker._goes_further(Quantity(*mine), Quantity(*theirs)) is further


def test_the_index_is_warmed_in_the_background_once(fixture_data):
    dataset, _ = fixture_data
    key = getattr(dataset, "version", None) or str(id(dataset))
    checker._INDEX_CACHE.pop(key, None)
    thread = checker.warm_index(dataset)
    assert thread is not None and checker.warm_index(dataset) is None  # under way: not started twice
    thread.join(timeout=120)
    assert not thread.is_alive() and key in checker._INDEX_CACHE
    assert checker._INDEX_CACHE[key]._models  # the classifier is fitted, not only the index built
    assert checker.warm_index(dataset) is None  # built: nothing to do


def test_the_fitted_classifier_is_kept_in_the_cache_and_read_back_bit_for_bit(fixture_data, tmp_path, monkeypatch):
    """Fitting the paraphrase classifier is most of a cold start (about 14 s for the shipped examples): the full
    model is kept as plain numbers in the parse cache, read back with the same probabilities, and refitted when
    anything it was fitted from changes."""
    import scipy.sparse as sparse
    from sklearn.linear_model import LogisticRegression

    from evidence.checking import matching

    dataset, _ = fixture_data
    monkeypatch.setenv("EVIDENCE_CACHE_DIR", str(tmp_path / "cache"))
    fits = []
    real_fit = LogisticRegression.fit
    monkeypatch.setattr(LogisticRegression, "fit", lambda self, *a, **k: fits.append(1) or real_fit(self, *a, **k))

    def probabilities(**kwargs):
        index = matching.ClaimIndex(dataset.claims, examples=[])
        x = sparse.hstack([index._word_matrix, index._char_matrix]).tocsr()
        return index._classify(x, frozenset(kwargs.get("excluded", ())))

    first = probabilities()
    second = probabilities()
    assert len(fits) == 1  # the second index read the model back
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    probabilities(excluded={"some-site.example"})  # evaluation's leave-sites-out models are fitted, not cached
    assert len(fits) == 2
    monkeypatch.setattr(matching, "CLASSIFIER_C", matching.CLASSIFIER_C * 2)
    probabilities()  # another setting: another key, so a refit
    assert len(fits) == 3
    for entry in (tmp_path / "cache").glob("*.parsed"):  # a damaged entry is ignored, and the model refitted
        entry.write_bytes(entry.read_bytes()[:-7] + b"garbage")
    monkeypatch.setattr(matching, "CLASSIFIER_C", matching.CLASSIFIER_C / 2)
    again = probabilities()
    assert len(fits) == 4 and np.array_equal(first[0], again[0])


def test_an_unmatched_sentence_the_no_topic_classifier_is_sure_of_loses_its_cue_topics(real_data):
    """Cue words give topics to filler ("safety" in "Comfort and safety are our key concerns."); below a match,
    the learned no-topic probability takes them away, and with them any rule verdict.  A matched sentence keeps
    its claim's topic whatever the probability."""
    dataset, tables = real_data
    index = checker.claim_index(dataset)
    summary = checker.summarise_evidence(tables)
    filler = checker.Sentence("Comfort and safety are our key concerns.", 0, 40)
    assert checker.classify_topics(filler.text) == ["safety and side effects"]
    kept = checker.check_sentence(filler, index, summary, no_topic=checker.NO_TOPIC_THRESHOLD - 0.01)
    stripped = checker.check_sentence(filler, index, summary, no_topic=checker.NO_TOPIC_THRESHOLD)
    assert kept.claim_id is None and kept.topics == ["safety and side effects"]
    assert stripped.claim_id is None and stripped.topics == [] and stripped.verdict is None
    claim = checker.Sentence("Ketamine can relieve depression within hours.", 0, 46)
    matched = checker.check_sentence(claim, index, summary, no_topic=1.0)
    assert matched.claim_id is not None and matched.topics


@pytest.mark.parametrize("sentence", [  # written for this test, not in the corpus or the examples
    "We look forward to meeting you and your family at our clinic.",
    "Welcome to our guide for first-time infusion patients.",
    "Our friendly staff will answer any questions you have about your visit.",
])
def test_filler_from_no_page_gets_no_topic(real_data, sentence):
    dataset, tables = real_data
    assert checker.classify_topics(sentence)  # cue words alone would give it one
    [f] = check_text(sentence, dataset, tables, include_all=True, as_sentence=True)
    assert f.topics == [] and f.verdict is None


def test_a_match_says_how_close_it_is_and_the_band_follows_the_fitted_score(real_data, monkeypatch):
    """A curated quote is a close match; a paraphrase under CLOSE_THRESHOLD is shown as possible, and the table
    says so in words with its score (the precision each band earned is measured by ``make eval-checker``)."""
    from evidence.checking.table import MATCH_LABELS, findings_table

    dataset, tables = real_data
    claims = {c.id: c for c in dataset.claims}
    quote = dataset.claims[0].appearances[0].quote
    [f] = check_text(quote, dataset, tables, html=False, as_sentence=True)
    assert f.claim_id == dataset.claims[0].id and f.strength == "close"
    assert findings_table([f], claims)[0]["match"].startswith(MATCH_LABELS["close"])
    # ("... lift depression within a day of the first infusion." scored 38.1 after the refit to a threshold of 41:
    # a lead now, not a match)
    paraphrase = "Many patients feel relief from depression within 24 hours of their first ketamine infusion."
    [p] = check_text(paraphrase, dataset, tables, html=False, as_sentence=True)
    assert p.claim_id is not None, p.similarity
    expected = "close" if p.similarity >= checker.CLOSE_THRESHOLD else "possible"
    assert p.strength == expected
    # with the band's lower edge above this sentence's score, the same match is only possible
    monkeypatch.setattr(checker, "CLOSE_THRESHOLD", p.similarity + 1)
    [q] = check_text(paraphrase, dataset, tables, html=False, as_sentence=True)
    assert q.claim_id == p.claim_id and q.strength == "possible"
    row = findings_table([q], claims)[0]
    assert row["match"] == f"{MATCH_LABELS['possible']} (score {q.similarity:g})"
    [none] = check_text("Call us today to book your first visit.", dataset, tables, html=False, as_sentence=True,
                        include_all=True)
    assert none.claim_id is None and none.strength is None and findings_table([none], claims)[0]["match"] == ""


def test_the_match_labels_text_comes_from_the_results_file(tmp_path):
    from evidence.checking.accuracy import match_labels_text

    results = tmp_path / "eval_checker.json"
    results.write_text(json.dumps({"test": {"tp": 80, "fp": 20, "close": 50, "close_tp": 46},
                                   "thresholds": {"match": 37.0, "close": 88.0}}))
    text = match_labels_text(path=results)
    assert "score of 88 or more) was right in 46 of 50" in text and "(score 37 to 88) in 34 of 50" in text
    assert "newer collection" not in text
    results.write_text(json.dumps({"test": {"tp": 80, "fp": 20, "close": 50, "close_tp": 46},
                                   "thresholds": {"match": 37.0, "close": 88.0},
                                   "untouched": {"ninth": {"tp": 9, "fp": 3, "close": 8, "close_tp": 7},
                                                 "tenth": {"tp": 2, "fp": 2, "close": 3, "close_tp": 1}}}))
    text = match_labels_text(path=results)  # every collection never tuned on, each with its own counts
    assert "never tuned on (ninth), close matches were right in 7 of 8 and possible ones in 2 of 4" in text
    assert "never tuned on (tenth), close matches were right in 1 of 3 and possible ones in 1 of 1" in text
    first = {"twenty-first": {"tp": 43, "fp": 31, "close": 40, "close_tp": 30, "scored": "2026-12-02"},
             "older": {"tp": 5, "fp": 1}}  # a first scoring from before close matches were counted: passed over
    results.write_text(json.dumps({"test": {"tp": 80, "fp": 20, "close": 50, "close_tp": 46},
                                   "thresholds": {"match": 37.0, "close": 88.0}, "untouched": {},
                                   "first_scorings": first}))
    text = match_labels_text(path=results)  # every collection tuned on: the newest first scoring, said to be one
    assert ("when it was first scored, by the checker of its day and before any of it was used (twenty-first, "
            "2026-12-02), close matches were right in 30 of 40 and possible ones in 13 of 34") in text
    results.write_text("{}")
    assert match_labels_text(path=results) == ""


def test_words_for_an_amount_are_quoted_not_presented_as_a_claimed_figure():
    """"within hours" is compared as up to 23 hours, but the sentence never said 23: the evidence cell quotes the
    words and says what was read into them."""
    from evidence.checking.table import describe_evidence

    [hours] = extract_quantities("Relief within hours.")
    [stated] = extract_quantities("Relief within 24 hours.")
    ev = {"rule_id": "onset", "significant": [{"hours": 24, "study": "s"}],
          "claimed": checker._claimed(hours, hours.high, "hours")}
    assert describe_evidence(ev).startswith("“within hours”, read as 23.0 hours vs")
    ev["claimed"] = checker._claimed(stated, stated.high, "hours")
    assert describe_evidence(ev).startswith("claimed up to 24.0 hours vs")  # the framing, as the page put it


def test_a_sentence_that_says_only_what_ketamine_is_for_is_marked_as_use(real_data):
    """Labellers read "is for adults with TRD" as use, asserting no benefit; the re-ranker has a feature for it
    (fitted weight negative), set only beside claims that the treatment works."""
    from evidence.checking.checker import claim_index

    dataset, _ = real_data
    index = claim_index(dataset)

    def use_only(sentence: str) -> dict[str, float]:
        return {c.claim_id: c.features.get("use_only", 0.0) for c in index.candidates(sentence, [], None)}

    use = use_only("Spravato is an FDA-approved treatment option for adults with treatment-resistant depression.")
    assert use.get("effective_for_trd") == 1.0, use
    assert not any(use_only("Ketamine is effective for treatment-resistant depression.").values())
    from evidence.checking.matching import WEIGHTS

    assert WEIGHTS["use_only"] < 0


def test_a_history_claim_beside_a_sentence_with_no_date_is_marked_undated(real_data):
    """The 1960s claim was the commonest wrong match on the development half, mostly sentences that say only that
    ketamine is an anaesthetic, with no date or span of time; the re-ranker has a feature for it (weight negative)."""
    from evidence.checking.checker import claim_index
    from evidence.checking.matching import WEIGHTS

    index = claim_index(real_data[0])

    def undated(sentence: str) -> float:
        return next(c.features["undated"] for c in index.candidates(sentence, [], None)
                    if c.claim_id == "used_since_1960s")

    assert undated("Ketamine is an anesthetic used in operating rooms.") == 1.0
    assert undated("Ketamine has been used as an anesthetic since the 1960s.") == 0.0
    assert undated("Ketamine has been used as an anesthetic for decades.") == 0.0
    assert WEIGHTS["undated"] < 0


def test_stemming_is_safe_across_threads():
    """The Check page warms the claim index in a background thread while a rerun checks text: one shared Snowball
    stemmer then mixed the two words it held ("string index out of range" on the page)."""
    from concurrent.futures import ThreadPoolExecutor

    from evidence.checking.matching import _stem

    words = [f"{w}{s}" for w in ("relief", "infusion", "depress", "treat", "respond", "sustain", "dissociat")
             for s in ("ed", "ing", "ion", "ions", "ively", "ness", "s", "ment", "ability", "er")]
    expected = [_stem(w) for w in words]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: [_stem(w) for w in words * 20], range(16)))
    assert all(r == expected * 20 for r in results)


def test_a_check_while_the_index_warms_waits_for_it_instead_of_building_a_second(monkeypatch):
    """The Check page warms the index in the background; a check that arrives meanwhile used to build (and fit)
    its own copy, doubling the work on a two-core server."""
    import threading
    import time
    from types import SimpleNamespace

    built = []

    class Slow:
        def __init__(self, claims):
            built.append(1)
            time.sleep(0.2)

    monkeypatch.setattr(checker, "ClaimIndex", Slow)
    monkeypatch.setattr(checker, "_INDEX_CACHE", {})
    dataset = SimpleNamespace(claims=[], version="warm-test")
    threads = [threading.Thread(target=checker.claim_index, args=(dataset,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and isinstance(checker.claim_index(dataset), Slow)


def test_the_paraphrase_classifier_stays_small_however_many_claims_are_curated(fixture_data, monkeypatch, tmp_path):
    """At 100 times the curated claims (4,200 classes) fitting the classifier asked L-BFGS for 30 GB and the Check
    page raised (``make bench``); beyond MAX_CLASSIFIER_CLAIMS only the claims with the most labelled examples keep a
    class, and the others share one, whose probability each is given."""
    import scipy.sparse as sparse

    from evidence.checking import matching

    assert matching.own_classes(["a", "b", "c"], [], limit=3) == {"a", "b", "c"}  # few claims: each its own
    assert matching.own_classes(["a", "b", "c", "d"], ["c", "c", "a", None, "d"], limit=2) == {"c", "a"}
    assert matching.own_classes(["a", "b", "c"], [], limit=2) == frozenset()

    monkeypatch.setenv("EVIDENCE_CACHE_DIR", str(tmp_path / "cache"))
    dataset, _ = fixture_data
    claims = list(dataset.claims)
    monkeypatch.setattr(matching, "MAX_CLASSIFIER_CLAIMS", len(claims) - 1)
    examples = [{"claim": claims[0].id, "text": "Ketamine helps within a day or so.", "site": "a.example"},
                {"claim": None, "text": "Call us today to book your visit.", "site": "b.example", "topics": []}]
    index = matching.ClaimIndex(claims, examples=examples)
    assert index._own_classes == {claims[0].id}
    x = sparse.hstack([index._word_matrix, index._char_matrix]).tocsr()
    proba, none_p = index._classify(x[:3], frozenset())
    model = index._fitted("claim-classifier", frozenset(), None)
    assert set(model.classes_) == {claims[0].id, matching.POOLED, matching.NO_CLAIM}
    pooled = [c for c in range(len(claims)) if claims[c].id != claims[0].id]
    assert np.allclose(proba[:, pooled], proba[:, pooled[:1]])  # the pooled claims share one probability
    assert np.allclose(proba[:, [0, pooled[0]]].sum(axis=1) + none_p, 1.0)


def test_labelled_sentences_of_claims_a_data_set_lacks_still_teach_the_no_topic_classifier(fixture_data, monkeypatch,
                                                                                           tmp_path):
    """With claims of its own (the fixture's, or a newly curated set), the shipped examples name no claim the data
    set has, so they were dropped whole, and the no-topic classifier, left with the labelled non-claims and the
    claims' few quotes, stripped "More than 90% of patients respond." of its topics and verdict."""
    import scipy.sparse as sparse

    from evidence.checking import matching

    monkeypatch.setenv("EVIDENCE_CACHE_DIR", str(tmp_path / "cache"))
    dataset, _ = fixture_data
    index = matching.ClaimIndex(dataset.claims)
    assert index._orphans and not any(r.kind == "example" and r.claim_id not in index.claims for r in index.refs)
    row = index._rows(["More than 90% of patients respond."])
    assert index.no_topic(sparse.csr_matrix(row), frozenset())[0] < checker.NO_TOPIC_THRESHOLD
    real = matching.ClaimIndex(load_dataset().claims)  # the curated claims: every example is one of theirs
    assert real._orphans == []


def test_the_onset_evidence_counts_effects_reported_for_a_whole_study(real_data):
    """An effect stored without an arm (Ionescu 2021's MD at 4 h, Zarate 2012's d at 40 minutes) had been dropped,
    so every onset finding said the earliest significant difference was at 24 h."""
    _, tables = real_data
    onset = checker._onset_summary(tables)
    whole = tables.outcomes[tables.outcomes["arm"].isna()]
    expected = {(r.study_id, r.outcome_id) for r in whole.itertuples()
                if checker._significant(whole.loc[r.Index]) and r.kind in ("effect_size", "mean_change", "response")}
    found = {(s["study"], s["outcome"]) for s in onset["significant"]}
    assert ("ionescu2021_ijnp", "madrs_change_4h") in found
    assert onset["significant"][0]["hours"] < 24
    assert expected & found


def test_the_findings_table_names_every_claim_a_sentence_makes_in_words_a_reader_knows(real_data):
    """A sentence making two claims showed only the first (the 80% claim, Overstated, was only in the JSON);
    the table showed stems ("surgeri"), study ids, "(certainty None)" and a rule's figure without its verdict."""
    from evidence.checking.table import findings_table

    dataset, tables = real_data
    claims = {c.id: c for c in dataset.claims}
    findings = check_text("More than 80% of patients respond to ketamine within 24 hours. "
                          "Ketamine is an anesthetic used in surgery for decades. "
                          "Patients often feel better within an hour.", dataset, tables, html=False)
    rows = findings_table(findings, claims)
    two = rows[0]
    others = [claims[o["claim_id"]] for o in findings[0].other_claims]
    assert others and all(f"“{o.short}” ({o.verdict})" in two["claim"] for o in others), two["claim"]
    assert "by rule (" in two["evidence"] and "certainty None" not in " ".join(r["evidence"] for r in rows)
    why = rows[1]["why"]
    assert "surgery" in why and "surgeri" not in why and "anesthet," not in why, why
    onset = next(r for r in rows if "earliest significant difference" in r["evidence"])
    assert "_" not in onset["evidence"].split("earliest significant difference")[1], onset["evidence"]


def test_a_sentence_naming_the_course_keeps_the_floor_for_how_long_benefits_last(real_data):
    """"after a single series" had made the sentence a regimen and taken away the curated claim's floor, so
    "Benefits can last for up to a year after a single series." got "no comparable evidence", kinder than the
    six-months claim's Partly supported."""
    from evidence.checking.checker import SEVERITY

    dataset, tables = real_data
    six = next(c for c in dataset.claims if c.id == "benefits_up_to_six_months")
    [f] = check_text("Benefits can last for up to a year after a single series.", dataset, tables, html=False)
    assert f.claim_id is None or f.claim_id == six.id
    assert f.verdict is not None and SEVERITY[f.verdict] >= SEVERITY[six.verdict], (f.verdict, f.evidence)
    assert not check_text("The session lasts two hours.", dataset, tables, html=False)[0].verdict
