"""What a sentence is about: its topics (several when it says several things), and whether it is about ketamine.

Topics come from whole-word cue phrases (``CUES``: "clinic" does not fire in "clinical", "last" not in "the
last decade") and from the quantities the sentence states: a time to effect implies *onset*, a time an effect
lasts *duration*, a share of patients *response rate*, an infusion's length or a number of sessions *regimen*.
Misspellings of the domain's words ("treatment resistent depression") are corrected first (``normalise``:
rapidfuzz edit distance against ``VOCABULARY``).

A classifier per topic trained on the development half's labelled sentences was tried beside these rules and
removed, twice: in leave-sites-out cross-validation on the development half it did not help (topics 0.939 with
it, 0.943 without on 245 sentences; 0.835 against 0.834 on 820); measured a third time on 4,073 (fifteen
collections), giving a sentence with no topic the classifier's best one lowered topics right (0.815 at P >= 0.7
against 0.818), and adding every topic at P >= 0.9 gained 3 sentences of 4,073.  A learned "no topic"
classifier over every sentence gained half a point and stripped the topics of short claims ("Safe & fast."),
so it was left out then.  With fourteen collections it is back, for sentences matched to no claim only
(``ClaimIndex.no_topic``, ``checker.NO_TOPIC_THRESHOLD``): out of fold on the development half, 0.803 -> 0.820.

Scope.  Contact, booking, payment and crisis-line text ("Call 988", "Book a free consultation") gets no topic
(``is_contact``), nor does a question, a heading or a signpost (``asserts_nothing``: "In this guide, we'll
explore ...", "You may have heard of Spravato"; it names a subject but asserts nothing), nor background about
depression or another treatment that says nothing about ketamine ("ECT is effective in about 50% of patients",
"There are a few different types of bipolar disorder": ``is_background``); such a
sentence is never matched to a claim.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from evidence.checking.quantities import Quantity

MAX_TOPIC_CHARS = 2000

# Cue phrases per topic, as regular expressions over lower-case text, matched at word boundaries.
# Order matters only for the primary topic (``ORDER``): more specific first.
CUES: dict[str, list[str]] = {
    "suicidal thoughts": [r"suicid\w*", r"self[- ]harm\w*", r"ending (?:their|his|her|your|one's) li(?:fe|ves)",
                          r"(?:want|wish)\w* to die"],
    "abuse and addiction": [r"addict\w*", r"abus\w*", r"dependen\w*", r"misuse\w*", r"recreational\w*",
                            r"party drug", r"habit[- ]forming", r"street drug", r"craving\w*", r"special k",
                            r"controlled substance", r"schedule iii"],
    "treatment-resistant depression": [r"treatment[- ]resistant", r"trd", r"(?:not|\w+n't|never) (?:responded|reacted)",
                                       r"unresponsive", r"(?:have|has|had) (?:failed|not worked|not helped)",
                                       r"(?:not|\w+n't) (?:improved|helped|worked)", r"tried (?:at least|two|multiple)",
                                       r"other (?:treatments|medications|options) (?:have )?failed",
                                       r"refractory", r"hard[- ]to[- ]treat",
                                       # "at least two failed anti-depressant medications": the definition of TRD
                                       r"(?:two|three|2|3|multiple|several) (?:or more )?failed",
                                       r"difficult[- ]to[- ]treat",
                                       r"nothing else (?:has )?(?:worked|helped)", r"run out of options",
                                       r"(?:little|no|limited) relief from",
                                       r"(?:haven't|have not|hasn't|has not) found relief",
                                       r"exhausted (?:other |all )?(?:options|treatments)",
                                       r"(?:not|\w+n't) (?:found|gotten|had) relief",
                                       r"(?:not|never) (?:a )?first[- ]line",
                                       r"despite (?:traditional|other|standard|multiple|several|many) "
                                       r"(?:treatments?|approaches|medications?|antidepressants?)",
                                       r"stopped (?:responding|working)", r"inadequate (?:response|relief)",
                                       r"tough[- ]to[- ]treat",
                                       r"(?:not|\w+n't) (?:providing|giving|offering) "
                                       r"(?:sufficient|enough|adequate) relief",
                                       r"(?:little|no|limited|inadequate|insufficient) (?:response|improvement) "
                                       r"(?:to|from|with)"],
    "remission": [r"remission\w*", r"symptom[- ]free", r"free (?:of|from) (?:their |your )?symptoms"],
    "response rate": [r"response rates?", r"respond\w*", r"responses", r"responders?", r"success rates?",
                      r"(?:positive|significant) results", r"(?:of|in) (?:our |the |these )?patients",
                      r"experienc\w* (?:significant |substantial |meaningful )?(?:relief|improvement)"],
    # "fast-acting" whole (a cue is a whole hyphenated word, so "fast" alone never matched it); not "fast forward",
    # nor going without food before an infusion ("Please fast that morning.", "fast for 8 hours", "fasting")
    "onset": [r"onset", r"rapid\w*", r"quick\w*",
              r"(?<!to )(?<!please )(?<!must )(?<!should )fast(?!\W?forward|ing|\s+(?:"
              r"for (?:\d|at least|a minimum|\w+ hours)|that (?:morning|day|night)|before (?:your|the|each|an?) |"
              r"after midnight|from|overnight))\w*",
              r"(?:fast|rapid|quick|swift)[- ](?:acting|working)", r"immediate\w*", r"swift\w*", r"speed\w*",
              r"within (?:hours|minutes|a day|an hour|days)", r"as little as", r"(?:in|within) (?:just )?a few",
              r"how (?:quickly|fast|soon)", r"same day", r"overnight", r"right away", r"almost instantly",
              r"instant\w*", r"first (?:infusion|session|dose|treatment)", r"after (?:just )?(?:one|a single)"],
    "duration": [r"(?<!the )(?<!at )(?<!this )last(?:s|ing|ed)?(?! (?:decade|years?|months?|weeks?|few|"
                 r"several|couple|time|night|resort|step|dose|infusion|session))",
                 r"long[- ](?:lasting|term)", r"durab\w*", r"prolonged", r"sustain\w*",
                 r"relaps\w*", r"stay(?:s|ed)? well", r"fade\w*", r"wear(?:s)? off", r"booster\w*", r"persist\w*",
                 r"maintenance", r"maintain\w*", r"periodic"],
    "safety and side effects": [r"safe(?:ty|ly)?", r"side[- ]effects?", r"adverse", r"tolerat\w*", r"nausea\w*",
                                r"dizz\w*", r"dissociat\w*", r"blood pressure", r"risks?", r"bladder", r"psychotic",
                                r"detach\w*", r"sedat\w*", r"drows\w*", r"hallucinat\w*", r"vomit\w*",
                                r"headaches?", r"complications?", r"out[- ]of[- ]body", r"floating",
                                r"harmful", r"danger\w*", r"overdose\w*", r"contraindicat\w*", r"disconnect\w*",
                                r"perception\w*", r"sensations?", r"tired\w*", r"groggy", r"dream[- ]?like",
                                r"altered", r"impair\w*", r"distort\w*", r"k[- ]holes?", r"pregnan\w*",
                                r"not for use in"],
    "mechanism": [r"receptors?", r"glutamate\w*", r"nmda", r"neuroplastic\w*", r"bdnf", r"synap\w*",
                  r"neurotransmitter\w*", r"neur(?:al|ons?|onal)", r"brain", r"serotonin", r"plasticity",
                  r"chemical messengers?",
                  r"(?:new|neural) connections", r"rewir\w*", r"neurogenesis", r"ampa", r"mtor", r"dopamine",
                  r"opioid system", r"pathways?", r"mechanism\w*", r"regrow\w*", r"dendrit\w*",
                  r"anti[- ]?inflammatory"],
    "other conditions": [r"ptsd", r"post[- ]traumatic", r"anxiety", r"bipolar", r"obsessive", r"ocd", r"chronic pain",
                         r"pain", r"phobia\w*", r"panic", r"fibromyalgia", r"eating disorders?", r"migraines?",
                         r"crps", r"neuropathic", r"alcohol use", r"substance use", r"postpartum", r"trauma\w*",
                         r"(?:psychiatric|mood|mental health) (?:conditions|disorders)"],
    "regimen": [r"infusions?", r"sessions?", r"doses?", r"dosage\w*", r"dosing", r"series",
                r"course of (?:treatment|six)",
                r"per week", r"a week", r"thrice", r"twice", r"nasal spray", r"intramuscular\w*", r"intravenous\w*",
                r"\biv\b", r"protocol\w*", r"administered", r"lozenges?", r"troches?", r"injections?",
                r"mg/kg", r"sublingual", r"at[- ]home", r"oral", r"additional treatments?", r"periodic",
                r"weekly", r"every (?:week|month|few)",
                r"course of (?:therapy|infusions|care|treatments)", r"\d+[- ]weeks? course", r"intranasal\w*",
                r"tablets?", r"microdos\w*", r"self[- ]administer\w*", r"maintenance",
                # ketamine given with therapy is how it is given ("combines ketamine with psychotherapy"), and
                # ketamine-assisted therapy's preparation and integration sessions are steps of its course
                r"combin\w* (?:\w+ ){0,6}with (?:\w+ )?(?:psycho)?therap\w*", r"in conjunction with",
                r"preparation sessions?", r"integration"],
    "setting": [r"clinic", r"clinics", r"clinical setting", r"supervis\w*", r"monitor\w*",
                r"medical (?:center|centre)s?",
                r"licensed", r"driv(?:e|es|ing|er|ers)", r"vital signs", r"certified", r"medical setting", r"suite",
                r"telehealth", r"online", r"in[- ](?:clinic|office|person)", r"at[- ]home", r"loved one",
                r"must be present", r"accompan\w*", r"escort\w*", r"ride home", r"a ride", r"transportation",
                r"someone to (?:drive|take)", r"(?:no|without) (?:limitations|restrictions)",
                r"anesthesiologists?", r"anaesthetists?", r"nurses?", r"staff", r"comfortable", r"relaxing",
                r"recliner", r"rems", r"observ\w*"],
    "comparison with other treatments": [r"than (?:traditional|conventional|standard|other|typical|oral|most|any)",
                                         r"than (?:ssris?|antidepressants?|medications?|ect|tms)",
                                         r"compared (?:to|with)", r"unlike", r"in contrast", r"better than",
                                         r"more effective than", r"ssris?", r"snris?", r"zoloft", r"prozac",
                                         r"lexapro", r"electroconvulsive", r"ect", r"tms", r"transcranial",
                                         r"traditional (?:antidepressants?|medications?|treatments?)",
                                         r"conventional (?:antidepressants?|medications?|treatments?)",
                                         r"(?:typical|common|standard|usual) (?:antidepressants?|medications?)",
                                         r"other (?:antidepressants|medications)", r"alternative to",
                                         r"psychotherapy", r"counsel(?:l)?ing", r"combined with", r"alongside",
                                         r"in conjunction with"],
    "quality of life": [r"quality of life", r"well[- ]?being", r"sleep\w*", r"energy", r"relationships?",
                        r"interpersonal", r"daily (?:life|activities|functioning)", r"enjoy\w*", r"function(?:ing)?",
                        r"productiv\w*", r"motivation", r"hope\w*", r"outlook", r"joy"],
    "history": [r"\d{4}s", r"since (?:the )?(?:\d{4}|its)", r"first (?:synthesi[sz]ed|developed|"
                r"approved|used|discovered)", r"fda[- ]approved", r"approved by the fda", r"anesthetic for decades",
                r"for (?:decades|over \w+ (?:years|decades))", r"(?:long|ketamine's) history", r"history of ketamine",
                r"originally", r"discovered", r"not a new (?:drug|medication|medicine|treatment)",
                r"(?:used|known|around|available) for (?:many|several|\d+(?:-\d+)?) years",
                r"(?:past|last) (?:few |two |three |several )?decades?",
                r"battlefields?", r"vietnam war", r"world health organization", r"essential medicines?",
                r"historically", r"invented", r"newer", r"newest", r"not new",
                r"operating rooms?", r"off[- ]label", r"approv(?:ed|al)",
                r"(?:over|in|during) the (?:last|past) (?:\d+|few|several|two|three|five|ten|twenty|fifty) "
                r"(?:years|decades?)", r"(?:in the )?early (?:19|20)\d\d", r"was (?:first )?developed",
                r"began (?:to )?(?:study|studying|research\w*|investigat\w*)", r"early reports?"],
    "general efficacy": [r"effective\w*", r"efficacy", r"works", r"worked", r"improv\w*", r"relie(?:f|ve|ves|ved)",
                         r"(?:can|may|might|will|would|does|did|do|to|it|they|that|which) work",  # not "our work"
                         r"reduc\w*", r"alleviat\w*", r"antidepressant effects?", r"helpful", r"benefits?",
                         r"promising", r"results?", r"breakthrough", r"life[- ]changing", r"game[- ]changer",
                         r"success\w*", r"lift\w*", r"ease\w*", r"heal\w*", r"transform\w*",
                         r"lifeline", r"revolution\w*", r"powerful", r"groundbreaking", r"innovative",
                         r"antidepressant properties"],
}
ORDER = list(CUES)
_CUE_RE = {t: re.compile(r"(?<![\w-])(?:" + "|".join(words) + r")(?![\w-])") for t, words in CUES.items()}

# The words whose misspellings are worth correcting (long enough that a one-letter slip is not another word).
VOCABULARY = sorted({
    "resistant", "treatment", "depression", "depressive", "suicidal", "suicide", "ketamine", "esketamine",
    "dissociation", "dissociative", "addiction", "addictive", "dependence", "remission", "response", "effective",
    "efficacy", "symptoms", "infusion", "infusions", "antidepressant", "antidepressants", "medication",
    "medications", "neuroplasticity", "glutamate", "receptors", "anesthetic", "anaesthetic", "tolerated",
    "improvement", "significant", "relief", "lasting", "sustained", "patients", "electroconvulsive",
    "intravenous", "intramuscular", "psychiatric", "anxiety", "traumatic", "obsessive", "compulsive",
    "clinically", "effects", "hallucinations", "nausea", "dizziness", "refractory",
})
_VOCAB_SET = set(VOCABULARY)
# English words one or two letters from a domain word, which are not its misspelling ("In addition," is not about
# addiction; a med-spa's "aesthetic" treatments, meditation in psychotherapy); found by listing every correction
# made in the corpus
_REAL_WORDS = {"addition", "additions", "additive", "aesthetic", "aesthetics", "meditation", "meditations",
               "mediation", "mediations", "listing", "listings", "convulsive", "depressing"}
_TOKEN = re.compile(r"[a-z]{7,}")
_HYPHENS = str.maketrans(dict.fromkeys("‐‑‒–\xad", "-"))
_LOOSE_HYPHEN = re.compile(r"(?<=[a-z]) -(?=[a-z])|(?<=[a-z])- (?=resistant)")

# Text that is about reaching the clinic, not about treatment: no topic, no claim, no verdict.
_CONTACT = re.compile(  # "what we call the maintenance phase" is no call to make
    r"(?<!\w)(?:(?<!we )(?<!they )call (?:us|now|today|our|\d|\(|the)|contact us|"
    r"book (?:a|an|your|now|online|today)|"
    r"schedule (?:a|an|your)|request (?:a|an) (?:appointment|consultation)|free (?:\d+[- ]minute )?consultation|"
    r"(?:suicide|crisis|prevention) (?:and crisis )?(?:life)?line|hotline|988|text \w+ to \d+|"
    r"call 911|dial 911|go to (?:the|your) nearest emergency|emergency room|"
    r"(?:click|tap) here|learn more|read more|sign up (?:for (?:our|the) newsletter|today|now|here)|subscribe|"
    r"newsletter|insurance|cash pay|out[- ]of[- ]pocket|payments?|paid|pay for|prices?|pricing|"
    r"costs?(?![- ](?:effective|efficient))|"  # "safe and cost-effective" is no price list
    r"\$\s?\d[\d,.]*|referral|call or email|email us|feel free to (?:call|contact|reach)|"
    r"we accept|financing|hsa|fsa|copyright|©|all rights reserved|privacy policy|terms of (?:use|service)|"
    r"fees?|cancell?ations?|cancel (?:your|an|the|a) (?:appointment|session|visit|infusion)|reschedul\w*|"
    r"refunds?|deposits?|no[- ]shows?|"
    r"get started today|fill out (?:the|our) form|reach out to (?:us|our)|our team (?:is|will be) (?:here|happy)|"
    # the clinic about itself: "We are currently accepting patients", "since we were founded in 2009"
    r"accepting (?:new )?patients|(?:were|was) founded|being scheduled|get (?:you )?scheduled|"
    r"we(?:'re|’re| are) (?:proud to be )?the first)"
    r"(?!\w)")
_PHONE = re.compile(r"\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}|\+\d[\d ()-]{7,}\d")

_BACKGROUND = re.compile(r"^(?:(?:major |clinical |treatment-resistant )?depression|mdd|trd)\b|"
                         r"(?:million|percent|%) of (?:adults|americans|people|the population)|"
                         r"million (?:adults|americans|people)|"
                         r"people (?:with|suffering from|living with) depression (?:are|have|often|may)")
# another treatment set against something unnamed ("This quick response is distinct from typical antidepressants"):
# the unnamed side is ketamine, referred back to
_SET_AGAINST = re.compile(r"(?<!\w)(?:distinct from|different from|differs from|unlike|compared (?:to|with)|"
                          r"than (?:[\w']+ ){0,3}(?:traditional|conventional|typical|standard|other|oral)|"
                          r"versus|vs\.?|in contrast|rather than|instead of|as with|alternative to|besides|"
                          # added to it: "When combined with specialized psychotherapy, KAT can ..."
                          r"combined with|in combination with|paired with|pairing|alongside)"
                          r"(?!\w)")
# the other treatment as what failed ("for those who haven't found relief with traditional antidepressants"): the
# sentence is about what helps them, unless it opens with another treatment ("TMS is recommended for those who ...")
_FAILED = re.compile(r"(?<!\w)(?:(?:not|\w*n't|never) (?:responded|found relief|benefit\w*|improved|worked)|"
                     r"resisted (?:other|traditional|conventional|standard)|"
                     r"(?:treatments?|medications?|therapies|antidepressants) (?:have |has )?(?:failed|not worked|"
                     r"(?:have|has)n't worked|did not work|didn't work))(?!\w)")
# possessive (*+, ++): "'" and "-" are both [\w'-] and \W, so a run of them ("------ Antidepressants have failed")
# could be split ~n^5 ways and took minutes; possessive runs are read once
_OPENS_WITH_OTHER = re.compile(r"^\W*+(?:[\w'-]++\W++){0,2}?(?:brain stimulation|neuromodulation|deep brain)(?!\w)")


def _set_against(low: str) -> bool:
    """Another treatment set against, or named as what failed, something left unnamed (ketamine referred back to)."""
    if _SET_AGAINST.search(low):
        return True
    if not _FAILED.search(low) or _OPENS_WITH_OTHER.search(low):
        return False
    first = OTHER_TREATMENTS.search(low)
    return not (first and len(low[:first.start()].split()) <= 2)
_ILLNESS = re.compile(r"(?<!\w)(?:depress\w*|bipolar|anxiety|pain|ptsd|trauma\w*|suicid\w*|mental (?:health|illness)|"
                     r"disorders?|conditions?|symptoms?|episodes?|illness\w*|mood)(?!\w)")
_TREATMENT_TALK = re.compile(
    r"(?<!\w)(?:treat\w*|therap\w*|infus\w*|relie\w*|improv\w*|respon\w*|sessions?|doses?|dosing|effect\w*|"
    r"benefit\w*|heal\w*|help\w*|work\w*|results?|remission|recover\w*|clinic\w*|patients?|medication\w*|"
    r"medicine|drug|approved|option\w*|alternative\w*|offer\w*|provide\w*|care|monitor\w*|reduc\w*|glutamate|"
    r"neur\w*|synap\w*|receptors?|brain|resol\w*)(?!\w)")
KETAMINE = re.compile(r"(?<!\w)(?:(?:es|ar)?ketamine\w*|spravato|kap|k-?therapy|(?:this|the|our|these) "
                      r"(?:treatment|therapy|therapies|infusions?|medication|drug|nasal spray|approach|option|"
                      r"procedure)|"
                      r"infusions?|it|its|it's|nmda antagonists?|(?:maintenance|booster) (?:sessions?|treatments?))"
                      r"(?!\w)")
_PRONOUNS = re.compile(r"\|it\|its\|it's")
KETAMINE_NAMED = re.compile(_PRONOUNS.sub("", KETAMINE.pattern))  # named, or "this treatment": not a bare "it"
OTHER_TREATMENTS = re.compile(
    r"(?<!\w)(?:ect|electroconvulsive|ssris?|snris?|maois?|tms|transcranial|antidepressants|"
    r"antidepressant (?:medications?|drugs?|pills?)|an antidepressant|"
    r"(?:traditional|conventional|standard|oral|other|typical) (?:forms of )?"
    r"(?:medications?|treatments?|therapies|drugs)|"
    r"psychotherapy|talk therapy|cbt|zoloft|prozac|lexapro|lithium|antipsychotics?|placebo)(?!\w)")


@lru_cache(maxsize=1 << 15)
def _correct(word: str) -> str:
    if word in _VOCAB_SET or word in _REAL_WORDS:
        return word
    limit = 1 if len(word) < 10 else 2
    best, best_d = word, limit + 1
    for v in VOCABULARY:
        if abs(len(v) - len(word)) > limit or v[0] != word[0]:
            continue
        d = Levenshtein.distance(word, v, score_cutoff=limit)
        if d < best_d:
            best, best_d = v, d
    return best


def normalise(sentence: str) -> str:
    """Lower-case text with misspelt domain words corrected ("resistent" -> "resistant"); same length words only
    are not guaranteed, so offsets into the result are not offsets into the sentence."""
    return _normalise(sentence[:MAX_TOPIC_CHARS])


@lru_cache(maxsize=1 << 14)  # each sentence is normalised by the topic, scope, context and matching rules
def _normalise(sentence: str) -> str:
    low = _LOOSE_HYPHEN.sub("-", sentence.lower().replace("’", "'").translate(_HYPHENS))  # "treatment -resistant"
    return _TOKEN.sub(lambda m: _correct(m.group()), low)


@lru_cache(maxsize=1 << 14)  # asked by the topic, scope and matching rules alike
def is_contact(sentence: str) -> bool:
    """Contact, booking, crisis-line and footer text, a clinic describing itself, or a bare phone number."""
    low = sentence[:MAX_TOPIC_CHARS].lower()
    return bool(_CONTACT.search(low) or _PHONE.search(low))


@lru_cache(maxsize=1 << 14)  # asked by the topic, scope and matching rules alike
def is_background(sentence: str) -> bool:
    """About depression itself or another treatment, not about ketamine ("Depression affects 21 million adults",
    "There are a few different types of bipolar disorder"): an illness named, and neither ketamine nor any
    treatment, effect or brain mechanism."""
    low = normalise(sentence)
    if KETAMINE_NAMED.search(low):
        return False
    if _ILLNESS.search(low) and not _TREATMENT_TALK.search(low):
        return True  # "it" alone does not make a sentence about bipolar disorder one about ketamine
    if KETAMINE.search(low):
        return False
    other = OTHER_TREATMENTS.search(low) and not _set_against(low)  # "distinct from typical antidepressants"
    return bool(other or _BACKGROUND.search(low))


def other_treatment(sentence: str) -> bool:
    """About another treatment (ECT, SSRIs, ...) and not about ketamine.  Not when the other treatment is set
    against something left unnamed ("This quick response is distinct from typical antidepressants, which can take
    several weeks"): that is ketamine, referred back to (11 of the 19 such development sentences are labelled with
    a ketamine claim), nor when it is named as what failed ("For many people who haven't found relief with
    traditional antidepressants, this FDA-approved therapy offers new hope"), set beside ("instead of", "than we see
    with standard antidepressants") or added to ("When combined with specialized psychotherapy, KAT can ..."): on
    the development half of twenty-two collections 9 more right matches, no more wrong ones, 10 more right topics."""
    low = normalise(sentence)
    return bool(OTHER_TREATMENTS.search(low)) and not KETAMINE.search(low) and not _set_against(low)


# a question word, or an inverted verb before its subject ("Is ketamine right for me"); not a bullet that opens
# with a verb ("Can relieve depression within hours" asserts)
_ASKS = re.compile(r"(?:how|why|what|when|where|who)\b|(?:is|are|can|does|do|should|will|could)\s+(?:ketamine|"
                   r"esketamine|spravato|it|this|the|i|you|my|your|there)\b", re.IGNORECASE)


def is_heading(sentence: str) -> bool:
    """A title-case line without closing punctuation ("Rapid Relief and Enhanced Response Rates"), or one that
    opens as a question does ("How ketamine works differently": 21 such lines in the development half, none
    labelled with a topic)."""
    if len(sentence) > 150 or sentence.rstrip()[-1:] in ".!?…":
        return False
    if _ASKS.match(sentence.lstrip()):
        return True
    words = [w for w in re.findall(r"[^\W\d_][^\W_]*", sentence) if len(w) >= 4]
    return len(words) >= 2 and sum(w[0].isupper() for w in words) >= 0.75 * len(words)


# The page talking about itself or to its reader ("In this guide, we'll explore ...", "You may have heard of
# Spravato", "Here's what you need to know to make an informed decision"): 28 of 30 such sentences in the
# development half were labelled with no topic, the other two quote or announce a claim.
_SIGNPOST = re.compile(
    r"^this (?:comprehensive |in-depth |short |quick )?(?:article|guide|post|blog|page|piece|overview)\b|"
    r"^in this (?:comprehensive |in-depth |short |quick )?(?:article|guide|post|blog|introduction|piece|overview)|"
    r"(?<!\w)(?:we'll|we will|let's|let us) (?:walk|explore|explain|address|cover|take a (?:deeper |closer )?look|"
    r"discuss|dive|break|compare|look at|answer|go over|review)(?!\w)|"
    r"^(?:below, we|read on|keep reading|this section|here's (?:a look|what you need|what to know|everything))(?!\w)|"
    r"(?<!\w)(?:this|the|our) (?:guide|blog|article|post) (?:breaks|walks|explores|covers|explains|will|is (?:a good|"
    r"designed|written|meant))(?!\w)|"
    r"(?<!\w)you (?:may|might) (?:have (?:heard|come across|seen|read)|be wondering|wonder)(?!\w)|"
    r"(?<!\w)you(?:'re| are) not alone(?!\w)|(?<!\w)informed (?:decision|choice)s?(?!\w)|"
    r"(?<!\w)can help you (?:decide|make|choose|determine)(?!\w)|"
    r"^(?:see|learn|find out|read|click) (?:why|how|what|more|about|if|whether)(?!\w)|"  # a call to action
    # what readers ask, not what the page answers ("One of the most common questions patients ask is ...")
    r"^(?:however, )?(?:many |some )?(?:people|patients|clients|they|you) (?:often |may |might |usually )?"
    r"(?:want to know|might be curious|are curious|ask|wonder|have questions)(?!\w)|"
    r"^one of the (?:first|most common|other|biggest) (?:things|questions)(?!\w)|"
    r"^questions (?:that )?(?:we|people|patients|clients) (?:get|ask|have)(?!\w)|"
    r"(?<!\w)understanding (?:its|how|what|the)(?!\w).{0,80}(?<!\w)(?:is|are) (?:essential|important|key|crucial|"
    r"vital)(?!\w)")


def is_signpost(sentence: str) -> bool:
    """The page announcing what it will cover, or addressing its reader: no assertion to check."""
    return bool(_SIGNPOST.search(normalise(sentence)))


@lru_cache(maxsize=1 << 14)  # asked by the topic, scope and matching rules alike
def asserts_nothing(sentence: str) -> bool:
    """A question ("Is ketamine addictive?"), a title-case heading ("The History of Ketamine") or a signpost
    ("In this guide, we'll explore ..."): it names a subject but asserts nothing, so it gets no topic, no match
    and no verdict."""
    return sentence.rstrip().endswith("?") or is_heading(sentence) or is_signpost(sentence)


@lru_cache(maxsize=1 << 14)
def cue_topics(text: str) -> tuple[str, ...]:
    """Topics whose cue phrases occur in normalised text, in ``ORDER``."""
    return tuple(t for t in ORDER if _CUE_RE[t].search(text))


_PEOPLE_SHARE = re.compile(r"(?<!\w)(?:patients|people|individuals|clients|participants|of (?:those|them|us)|"
                           r"respond\w*|improv\w*|experienc\w*|relief|results?|benefit\w*|success\w*|better)(?!\w)")
_HARM_WORDS = re.compile(r"(?<!\w)(?:side[- ]effects?|nausea|dizz\w*|dissociat\w*|adverse|vomit\w*|"
                         r"headaches?|blood pressure|hallucinat\w*|sensations?|perception\w*|disconnect\w*|"
                         r"tired\w*|drows\w*|groggy|effects of the (?:medicine|medication|drug))(?!\w)")


def quantity_topics(text: str, quantities: list[Quantity]) -> list[str]:
    """Topics implied by the stated quantities (see the module docstring)."""
    out: list[str] = []
    # each test read once per sentence, not once per figure (a line of fifty shares had cost fifty reads)
    harms = bool(_HARM_WORDS.search(text))
    remission = "remission" in text
    people = bool(_PEOPLE_SHARE.search(text))
    for q in quantities:
        if q.kind == "onset":
            out.append("onset")
        elif q.kind == "duration":
            out.append("safety and side effects" if harms else "duration")
        elif q.kind == "share":
            if harms:
                out.append("safety and side effects")
            elif remission:
                out.append("remission")
            elif people:
                out.append("response rate")
        elif q.kind == "infusion_length" or (q.kind == "count" and q.unit == "infusions"):
            out.append("regimen")
    return out


# What the drug is rather than what it does ("Ketamine is a dissociative anesthetic"): labelled *history* in the
# corpus, but it says nothing about how long ketamine has been used, so the matcher is not shown it
# (``descriptive=False``); as a cue the matcher saw, it drew 11 wrong matches to the history-of-use claim.
_DESCRIPTIVE = re.compile(r"(?<!\w)an(?:a)?esthe\w*")
# the molecule's two mirror-image forms ("S-ketamine (esketamine) and R-ketamine", "enantiomers"): labelled
# *mechanism* in all 8 such sentences of the development half; shown to readers, not passed to the matcher (what
# the drug is, not how it relieves depression).  "Racemic ketamine" alone is a formulation (regimen).
_STRUCTURE = re.compile(r"(?<!\w)(?:enantiomers?|isomers?|chiral|mirror[- ]image|mirroring parts|[rs]-ketamine)(?!\w)")


def classify_topics(sentence: str, quantities: list[Quantity] | None = None, *, descriptive: bool = True
                    ) -> list[str]:
    """Every topic of a sentence, primary first; [] for contact or booking text, questions, headings and filler.

    *general efficacy* is a fallback: kept only when nothing more specific is said.  ``descriptive=False``
    leaves out the topics read from what the drug is (``_DESCRIPTIVE``), as the matcher wants.
    """
    if is_contact(sentence) or is_background(sentence) or asserts_nothing(sentence):
        return []
    text = normalise(sentence)
    if quantities is None:
        from evidence.checking.quantities import extract_quantities

        quantities = extract_quantities(sentence)
    found = set(cue_topics(text)) | set(quantity_topics(text, quantities))
    if descriptive and _DESCRIPTIVE.search(text):
        found.add("history")
    if descriptive and _STRUCTURE.search(text):
        found.add("mechanism")
    if found & CLAIM_TOPICS:
        found.discard("general efficacy")
    return sorted(found, key=_rank(text, quantities))


# Topics that say something specific: *general efficacy* is dropped beside them (kept beside regimen, setting,
# history or a comparison, which say where or how, not what the effect is).
CLAIM_TOPICS = {"onset", "duration", "response rate", "remission", "treatment-resistant depression",
                "suicidal thoughts", "safety and side effects", "abuse and addiction", "mechanism",
                "other conditions", "quality of life"}


def _rank(text: str, quantities: list[Quantity]):
    implied = quantity_topics(text, quantities)

    def key(topic: str) -> tuple[int, int]:
        return (0 if topic in implied else 1, ORDER.index(topic))
    return key


def classify_topic(sentence: str) -> str | None:
    """The primary topic, or None."""
    topics = classify_topics(sentence)
    return topics[0] if topics else None
