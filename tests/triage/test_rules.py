"""Behaviour of the red-flag screen: protocols, context, ASR-style text, modifiers and explanations."""

from __future__ import annotations

import pytest

from careline.triage.rules import Disposition, RedFlagKind, Screening, never_lower, screen

E, U, R, S, N = (
    Disposition.EMERGENCY,
    Disposition.URGENT,
    Disposition.ROUTINE,
    Disposition.SELF_CARE,
    Disposition.NONE,
)


def kind_of(text: str, **kw: object) -> RedFlagKind | None:
    return screen(text, **kw).kind  # type: ignore[arg-type]


POSITIVES = {
    RedFlagKind.CARDIAC: [
        "I have chest pain going down my left arm",
        "chess pain and my jaw hurts",
        "it feels like an elephant is sitting on my chest",
        "my chest is tight and I feel sweaty and sick",
        "pain in the middle of my chest and I feel like I might pass out",
        "chest pain and i cant catch my breath",
        "i think im having a heart attack",
        "its my dad hes havin chess pains and sweatin",
        "my heart hurts and my left arm is numb",
        "my jaw and left arm ache and I'm sweaty and nauseous",
        # The brief's own example, and arm pain with breathlessness or jaw pain without chest pain.
        "shortness of breath with pain in the left arm",
        "I can't catch my breath and my left arm hurts",
        "pain in my left arm and jaw",
        "my neck and left arm are aching",
    ],
    RedFlagKind.STROKE: [
        "my dad's face is drooping",
        "her speech is slurred",
        "he's talking funny and can't lift his arm",
        "I suddenly can't see out of my right eye",
        "worst headache of my life, came on out of nowhere",
        "wife face dropping one side cant talk right",
        "all of a sudden he cant walk straight and keeps falling to one side",
        "i think my grandpa is having a stroke",
        "no feeling in his left arm since lunch",
        "I can't feel my face on one side",
    ],
    RedFlagKind.BREATHING: [
        # Pulmonary embolism warning signs count as breathing emergencies.
        "my leg is swollen and hot and now I'm short of breath",
        "it hurts when I breathe and my calf is swollen",
        "pain in my chest when I breathe and I'm coughing up blood",
        "I can't breathe",
        "i cant breed",
        "he is gasping for air",
        "her lips are turning blue",
        "my daughter is struggling to breathe and her ribs are sucking in",
        "my asthma inhaler is not helping and I can barely talk",
        "she is wheezing so bad she cant talk",
        "hes choking on a grape",
        "I'm having a really bad asthma attack",
    ],
    RedFlagKind.ANAPHYLAXIS: [
        "my lips are swelling after eating shrimp",
        "I was stung by a wasp and now my throat feels like it's closing",
        "hives all over and wheezing after the new antibiotic",
        "we used his epipen five minutes ago",
        "her lip is swoll after peanut butter",
        "my throat is swelling up",
    ],
    RedFlagKind.BLEEDING: [
        "I cut my finger and it won't stop bleeding",
        "blood is spurting from his leg",
        "bleeding heavily from a cut on my arm, soaked through two towels",
        "my nose has been bleeding for 40 minutes",
        "she's bleeding a lot and feels faint",
        "i cut my leg with the knife and the blood is not stop",
    ],
    RedFlagKind.SUICIDAL: [
        "I want to kill myself",
        "he says he wants to end his life",
        "i've been cutting myself again",
        "everyone would be better off without me",
        "i dont want to live anymore",
        "i dont see the point of living anymore i have my pills ready",
        "I don't see the point anymore, I wrote goodbye letters and there's a gun in the house",
        "she overdosed on purpose",
        "i'm going to end it tonight",
        "I keep thinking about taking all my pills",
    ],
    RedFlagKind.POISONING: [
        "my toddler drank some bleach",
        "I took too many of my sleeping pills",
        "she swallowed a button battery",
        "my son ate a handful of my vitamins",
        "the carbon monoxide alarm is going off and we all have headaches",
        "i think my son took some of grandma's pills, not sure how many",
        "he took a bunch of tylenol, I don't know if he meant to",
    ],
    RedFlagKind.SEPSIS_INFECTION: [
        "spider bite on my leg and the redness keeps spreading and now I have a fever and chills",
        "there are red streaks going up my arm from the cut",
        "my mom has a fever and she's really confused today",
        "he has a temperature of 103 and isn't making any sense",
        "high fever, stiff neck and a purple rash on her legs",
        "my cellulitis is spreading and I'm shivering with a fever of 102",
        "grandma has a UTI and is suddenly very confused",
    ],
    RedFlagKind.HEAD_INJURY: [
        "my dad fell and can't get up, he's confused",
        "my son hit his head and passed out for a few seconds",
        "fell and hit my head, I'm on warfarin",
        "she bumped her head and has thrown up 3 times",
        "after he hit his head he keeps asking the same questions",
        "my son got knocked out during the game",
    ],
    RedFlagKind.ABDOMINAL: [
        "I've been vomiting blood",
        "threw up what looked like coffee grounds",
        "severe stomach pain and my belly is rigid",
        "my stomach hurts so bad I can't move, it's hard as a rock",
        "worst stomach pain of my life",
    ],
    RedFlagKind.OTHER: [
        "my son is having a seizure and it's been going on for 6 minutes",
        "my daughter is having a seizure right now",
        "my mom is diabetic and her sugar is 40 and she's confused",
        "my son woke up with sudden severe pain in his testicle and is vomiting",
        "she spilled boiling water and burned her whole arm, the skin is white and leathery",
        "my son got bleach in his eye",
        "she collapsed and isn't breathing",
        "my dad is diabetic and he took his in sue lin and now he's sweaty and not making sense",
    ],
}

NOT_RED_FLAGS = {
    RedFlagKind.CARDIAC: [
        "no chest pain, just a cough",
        "I had a heart attack in 2019 and need a cardiology follow up",
        "can you refill my nitroglycerin",
        "how do I get to the heart institute",
        "where is the chest pain clinic",
        "my shoulder hurts and my neck is stiff",
        "my legs are swollen from standing all day",
        "I fell last week and I'm fine, just bruised",
        "my arm hurts after the flu shot",
        "no shortness of breath, just my arm aches from lifting boxes",
    ],
    RedFlagKind.STROKE: [
        "I need directions to the stroke center",
        "my father had a stroke years ago and needs a neurologist",
        "I need my sumatriptan refilled for my usual migraines",
        "I'm calling about my mom who is in the ICU after her stroke, what are visiting hours",
    ],
    RedFlagKind.BREATHING: [
        "not having any trouble breathing, just a stuffy nose",
        "I can't breathe through my nose because of this cold",
        "can Dr. Baptiste renew my inhaler?",
        "my throat is sore and my tonsils are swollen",
    ],
    RedFlagKind.ANAPHYLAXIS: [
        "I need a refill of my epipen",
        "I had an allergic reaction last year and want to see an allergist",
        "the school needs an allergy action plan that says what to do if she has a reaction",
    ],
    RedFlagKind.BLEEDING: [
        "small cut on my finger, stopped bleeding",
        "last week I had a nosebleed that would not stop, it has been fine since, I need the ENT follow up",
        "I need a refill of my warfarin",
    ],
    RedFlagKind.SUICIDAL: [
        "I'm not suicidal, I don't want to hurt myself, I just need a refill",
        "I need the number for the suicide prevention hotline for a flyer",
        "I'm feeling down lately and would like to see a counselor",
    ],
    RedFlagKind.POISONING: [
        "I think I have food poisoning, diarrhea since last night",
        "what's the number for poison control",
        "can I take my pills with food",
    ],
    RedFlagKind.SEPSIS_INFECTION: [
        "Two days ago I had a fever and chills, I took the antibiotic and now the fever is gone",
        "itchy rash on my forearm for three days, it isn't spreading",
    ],
    RedFlagKind.HEAD_INJURY: [
        "my daughter bumped her head, no vomiting, didn't pass out, acting normal",
        "he had a concussion two years ago and needs a sports physical",
    ],
    RedFlagKind.ABDOMINAL: ["I've had some stomach pain off and on", "heartburn after meals, tums help"],
    RedFlagKind.OTHER: [
        "I need a refill of my seizure medication",
        "i'm supposed to be at the seizure clinic at two, which elevator do i take",
        "do you have a doctor who treats seizures in children",
        "the pharmacy says my insulin needs prior authorization",
        "I burned my finger on the stove, it's red",
    ],
}


@pytest.mark.parametrize(
    ("kind", "text"), [(k, t) for k, texts in POSITIVES.items() for t in texts], ids=lambda v: str(v)[:40]
)
def test_it_flags_lay_phrasings_of_each_red_flag(kind: RedFlagKind, text: str) -> None:
    result = screen(text)
    assert result.disposition is E
    assert kind in {f.kind for f in result.red_flags}, result.to_dict()


@pytest.mark.parametrize(
    ("kind", "text"), [(k, t) for k, texts in NOT_RED_FLAGS.items() for t in texts], ids=lambda v: str(v)[:40]
)
def test_it_does_not_flag_negated_past_or_named_mentions(kind: RedFlagKind, text: str) -> None:
    result = screen(text)
    assert result.red_flags == [], result.to_dict()
    assert result.disposition is not E


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I have a cold and runny nose", S),
        ("sore throat for two days", S),
        ("cough and runny nose no fever", S),
        ("lower back pain after lifting boxes", R),
        ("itchy rash on my leg", R),
        ("i think i have a u t i it burns when i pee", R),
        ("my son has an earache", R),
        ("mild headache after a long day, anything I can take?", S),
        ("twisted my ankle, it's a bit swollen", S),
        ("can I take tylenol with my blood pressure medicine", R),
        ("can my 3 year old take children's tylenol and motrin together", R),
        ("can you tell me if my test for strep came back", N),
        ("I've been feeling down and want to talk to someone", R),
        ("my knee has been aching for a few weeks", R),
        ("I need to reschedule my appointment", N),
        ("what are your hours on saturday", N),
    ],
)
def test_common_complaints_resolve_to_routine_or_self_care(text: str, expected: Disposition) -> None:
    result = screen(text)
    assert result.red_flags == []
    assert result.disposition is expected, result.to_dict()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my chest hurts a little when I press on it", U),
        ("I've been a bit short of breath walking up stairs", U),
        ("black tarry stools since yesterday", U),
        ("the redness around my bug bite is spreading but no fever", U),
        ("my testicle has been a bit sore for a few days", U),
        ("I got hit in the eye with a baseball", U),
        ("I've been throwing up all night and can't keep anything down", U),
        ("my 1 year old has had diarrhea and no wet diapers since this morning", U),
        ("my mother seems confused since this morning", U),
        ("I'm 20 weeks pregnant and have a fever of 101", U),
        ("I think I'm having an asthma attack, inhaler helped a bit", U),
    ],
)
def test_it_sends_worrying_but_not_red_flag_symptoms_to_a_nurse(text: str, expected: Disposition) -> None:
    result = screen(text)
    assert result.red_flags == []
    assert result.disposition is expected, result.to_dict()


# --- context -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "no chest pain, just a cough",
        "denies shortness of breath",
        "chest pain is not present",
        "I'm not short of breath and there's no pain in my chest",
        "my daughter bumped her head, didnt pass out, no throwing up",
        "I'm not thinking about hurting myself",
    ],
)
def test_definite_negation_suppresses_a_flag(text: str) -> None:
    assert screen(text).red_flags == []


@pytest.mark.parametrize(
    "text",
    [
        "not sure if it's chest pain but there's pressure in my chest and it goes to my arm",
        "maybe it's nothing but my chest feels squeezed and I'm clammy",
        "it might be anxiety but I have chest pain and I'm sweating a lot",
        "what if this is a stroke? her face is drooping",
        "is it possible she's having a stroke? her face looks droopy",
    ],
)
def test_uncertainty_and_present_hypotheticals_do_not_suppress(text: str) -> None:
    assert screen(text).disposition is E


@pytest.mark.parametrize(
    "text",
    [
        "no fever but i have chest pain that goes into my jaw",
        "I don't have a cough, however my chest feels tight and heavy",
        "no shortness of breath and now chest pressure and sweating",
        "no headache, slurred speech since breakfast",
    ],
)
def test_negation_scope_ends_at_clause_boundaries(text: str) -> None:
    assert screen(text).disposition is E


@pytest.mark.parametrize(
    "text",
    [
        "my dad's face is drooping",
        "my wife can't lift her right arm",
        "my roommate took a whole bottle of tylenol",
        "my mother, she is seventy, has tight pain in the chest going to the jaw",
    ],
)
def test_the_person_the_caller_calls_about_is_the_patient(text: str) -> None:
    assert screen(text).disposition is E


@pytest.mark.parametrize(
    "text",
    [
        "I had a heart attack in 2019",
        "I had a mild stroke in the spring of 2021, can I book this year's visit",
        "my father had a stroke years ago",
        "My neighbor collapsed last week, heart attack, so I want a check-up",
        "my mother died of a heart attack, I want to check my heart",
        "Last month I had an allergic reaction, my throat was swelling, now everything is okay",
        "My husband had a brain injury from a car accident three years ago",
    ],
)
def test_past_history_and_other_peoples_past_events_do_not_fire(text: str) -> None:
    assert screen(text).red_flags == []


@pytest.mark.parametrize(
    "text",
    [
        "I had chest pain last year but now I have crushing pain in my chest again",
        "I had a heart attack in 2019 and now I have the same squeezing in my chest",
        "my dads face is drooping he had a stroke years ago",
    ],
)
def test_a_new_event_after_a_past_one_still_fires(text: str) -> None:
    assert screen(text).disposition is E


def test_a_future_hypothetical_is_a_routine_clinical_question() -> None:
    result = screen(
        "He came home after his heart procedure. If he gets that pressure in his chest again "
        "tonight, is that a call-you thing or an ER thing? He's fine right now."
    )
    assert result.red_flags == []
    assert result.disposition is R
    assert result.symptoms[0].rule.endswith(".hypothetical")


@pytest.mark.parametrize(
    "text",
    [
        "what if the chest pressure comes back?",
        "what should I do if he has a seizure at school?",
        "My baby is six weeks old and healthy. At what temperature should I call if she ever gets a fever?",
    ],
)
def test_what_if_questions_are_routine(text: str) -> None:
    result = screen(text)
    assert result.red_flags == []
    assert result.disposition is R


def test_a_recent_serious_symptom_that_settled_still_gets_a_nurse_call() -> None:
    result = screen("I had some chest pressure an hour ago but it went away")
    assert result.red_flags == []
    assert result.disposition is U
    assert result.symptoms[0].rule == "cardiac.chest_pressure.resolved"


@pytest.mark.parametrize(
    "text",
    [
        "my dog ate rat poison",
        "Our cat is breathing with her mouth open and her gums look pale. Do you have a vet on call?",
        "my dog is having a seizure, what do I do",
        "the puppy ate some of my pills",
    ],
)
def test_pets_are_never_red_flags(text: str) -> None:
    assert screen(text).disposition is N


def test_an_accidental_cut_is_bleeding_not_self_harm() -> None:
    result = screen("there's blood everywhere, he cut himself with a chainsaw")
    assert [f.kind for f in result.red_flags] == [RedFlagKind.BLEEDING]


def test_a_pet_injuring_a_person_still_counts() -> None:
    result = screen("my dog bit me last night and now the bite is red, swollen, spreading and I have chills")
    assert result.kind is RedFlagKind.SEPSIS_INFECTION


# --- ASR-style, typo and non-native text ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("yes my nose has been bleeding for over an hour nonstop im on war fair in", RedFlagKind.BLEEDING),
        ("my two year old has a fever of a hundred and four shes really floppy", RedFlagKind.PEDIATRIC_FEVER),
        ("grandma is all confused the thermometer says one oh two point five", RedFlagKind.SEPSIS_INFECTION),
        ("need to talk to a nurse asap my chest feels like its being squeezed", RedFlagKind.CARDIAC),
        ("hi um my son cant breath he is gasping", RedFlagKind.BREATHING),
        (
            "i eat shrimp and now my face and lip is swelling and i have hard to breathe",
            RedFlagKind.ANAPHYLAXIS,
        ),
        (
            "my mother she fall down the stairs hit her head now she is sleepy and vomiting many times",
            RedFlagKind.HEAD_INJURY,
        ),
        ("i am pregnant 7 months and the baby is not moving since yesterday", RedFlagKind.PREGNANCY),
        ("my son he is shaking on the floor seizure more than 10 minutes", RedFlagKind.OTHER),
        ("HEAVY CHEST PRESURE AND PAIN IN LEFT ARM", RedFlagKind.CARDIAC),
    ],
)
def test_it_reads_asr_typo_and_non_native_text(text: str, kind: RedFlagKind) -> None:
    assert kind_of(text) is kind


# --- age and pregnancy modifiers ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "my 6 week old has a fever of 100.6",
        "my 2 month old baby feels really hot and the thermometer says 38.5",
        "My baby is seven weeks old and his temperature is 100.8 rectally.",
        "need an appt for my 5 wk old, temp was 38.2 under the arm",
        "baby 1 month temp 100.5",
        "my newborn has a temp of 101",
        "my baby won't stop crying and has a fever, he's 5 weeks",
    ],
)
def test_it_flags_fever_in_an_infant_under_three_months_from_the_text(text: str) -> None:
    assert kind_of(text) is RedFlagKind.PEDIATRIC_FEVER


def test_it_uses_a_given_fractional_age_for_infants() -> None:
    assert kind_of("he has a fever and won't feed", age_years=0.15) is RedFlagKind.PEDIATRIC_FEVER
    assert kind_of("he has a fever and won't feed", age_years=4) is None


def test_fever_in_an_older_child_playing_normally_is_self_care() -> None:
    result = screen("my 4 year old has a fever of 101 but is playing fine")
    assert (result.red_flags, result.disposition) == ([], S)


def test_a_low_reading_is_not_an_infant_fever() -> None:
    assert screen("my 6 week old's temperature is 99.1, is that normal?").red_flags == []


def test_it_flags_abdominal_pain_and_bleeding_in_pregnancy() -> None:
    assert kind_of("I have really bad cramping in my stomach", pregnant=True) is RedFlagKind.PREGNANCY
    assert kind_of("I'm 8 weeks pregnant and bleeding") is RedFlagKind.PREGNANCY
    assert kind_of("I have some bleeding") is None


def test_reduced_fetal_movement_needs_a_pregnancy() -> None:
    assert kind_of("I'm 30 weeks pregnant and the baby hasn't moved today") is RedFlagKind.PREGNANCY
    assert kind_of("i am 32 weeks and i havent felt the baby kick all day") is RedFlagKind.PREGNANCY


def test_a_well_pregnancy_is_not_a_red_flag() -> None:
    result = screen(
        "I'm twenty weeks pregnant and I'd like to schedule my anatomy scan, the baby's moving a lot"
    )
    assert result.red_flags == []


@pytest.mark.parametrize(
    "text",
    [
        "I'm 30 weeks, bad headache and seeing spots",
        "pregnant 26 weeks, bad headache and blurry vision and my face is swollen",
        "I'm pregnant with really bad pain up under my ribs on the right",
    ],
)
def test_it_flags_preeclampsia_signs(text: str) -> None:
    assert kind_of(text) is RedFlagKind.PREGNANCY


def test_breathing_trouble_in_a_young_infant_is_an_emergency() -> None:
    assert kind_of("she's breathing fast and grunting", age_years=0.1) is RedFlagKind.BREATHING
    assert screen("she's breathing fast", age_years=30).disposition is U


def test_it_flags_a_head_bump_in_an_infant_as_urgent() -> None:
    assert screen("she bumped her head on the table", age_years=0.5).disposition is U
    assert screen("she bumped her head on the table", age_years=30).disposition is S


# --- explanations --------------------------------------------------------------------------------


def test_evidence_is_the_exact_original_words_with_offsets() -> None:
    text = "Hi, I'm calling because I CAN’T breathe and my lips look blue"
    finding = screen(text).red_flags[0]
    assert finding.evidence == text[finding.start : finding.end]
    assert finding.evidence.startswith("CAN’T breathe")
    assert finding.rule == "breathing.severe"


def test_a_combination_rule_points_at_every_supporting_phrase() -> None:
    text = "I have chest pain going down my left arm"
    finding = screen(text).red_flags[0]
    assert finding.rule == "cardiac.chest_pain_with_arm"
    assert [text[s:e] for s, e in finding.spans] == ["chest pain", "going down my left arm"]
    assert finding.evidence == "chest pain going down my left arm"


def test_evidence_survives_number_words() -> None:
    text = "my baby is 3 weeks old and has a fever of a hundred and one"
    finding = screen(text).red_flags[0]
    assert finding.kind is RedFlagKind.PEDIATRIC_FEVER
    assert text[finding.start : finding.end] == finding.evidence
    assert "fever" in finding.evidence


def test_to_dict_has_the_documented_shape() -> None:
    data = screen("my wife's face is drooping on one side").to_dict()
    assert set(data) == {"disposition", "red_flags", "symptoms", "advice"}
    assert data["disposition"] == "emergency"
    assert set(data["red_flags"][0]) == {"kind", "evidence", "rule", "start", "end"}
    assert data["red_flags"][0]["kind"] == "stroke"
    assert data["red_flags"][0]["rule"] == "stroke.face_droop"
    assert "911" in data["advice"]


def test_advice_comes_from_the_primary_red_flag() -> None:
    result = screen("my toddler drank some bleach")
    assert "1-800-222-1222" in result.advice


def test_nothing_clinical_gives_none_and_no_findings() -> None:
    result = screen("Could you transfer me to billing? I have a question about a charge.")
    assert result == Screening(N, [], [], result.advice)


def test_red_flags_come_before_other_symptoms_and_are_all_emergencies() -> None:
    result = screen("I have a cold, and now my chest is tight and I'm sweating")
    assert result.disposition is E
    assert all(f.disposition is E for f in result.red_flags)
    assert all(f.disposition is not E for f in result.symptoms)


# --- dispositions --------------------------------------------------------------------------------


def test_dispositions_are_ordered_by_seriousness() -> None:
    assert [d.rank for d in (N, S, R, U, E)] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("person", "suggested", "expected"),
    [(E, R, E), (R, E, E), (U, S, U), (None, R, R), ("routine", "urgent", U), (N, N, N)],
)
def test_never_lower_keeps_the_higher_disposition(
    person: Disposition | str | None, suggested: Disposition | str, expected: Disposition
) -> None:
    assert never_lower(person, suggested) is expected


def test_the_red_flag_kinds_are_exactly_the_documented_ones() -> None:
    assert {k.value for k in RedFlagKind} == {
        "cardiac",
        "stroke",
        "breathing",
        "anaphylaxis",
        "bleeding",
        "suicidal",
        "poisoning",
        "sepsis_infection",
        "pediatric_fever",
        "head_injury",
        "abdominal",
        "pregnancy",
        "other",
    }
