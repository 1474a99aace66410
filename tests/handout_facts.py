"""The facts and reassurances of each NCI handout section, as the phrases that carry them, per language.

Every answer keeps them, spoken and texted: English voice, English SMS, Spanish voice, Spanish SMS
(tests/test_handout_facts.py). A phrase is lower case, written as it is said; a tuple gives the
forms that say the same thing (the voice and the text may word it differently). In a text, a phrase
is looked for in its GSM-7 form (Spanish "cáncer" as "cancer"; é and ñ stay).
"""

FACTS: dict[str, dict[str, list[str | tuple[str, ...]]]] = {
    "en": {
        "what": ["comes back", "happens again", "could not be found", "same place", "another part of the body", "recurrent cancer"],
        "why": ["cancer cells", "even after treatment", "too small", "follow-up care", "scientists do not know"],
        # A distant recurrence has metastasized; the handout never calls every recurrence metastasis.
        "where": [
            "same place",
            "same type of cancer",
            "come back in a different part of the body",
            "spreads to",
            "metastasis",
            "metastasized",
        ],
        "different": [
            "emotions",
            "knowledge",
            "experience",
            "what to expect",
            "hope for",
            "side effects",
            "cope",
            "new and improved treatments",
        ],
        "harder": [
            "reacts",
            "more demanding",
            "more emotional",
            "people who will support you",
            "family and friends",
            "doctors and nurses",
            "health psychologist",
            "oncology social workers",
            "faith or spiritual community",
            "health care provider",
        ],
        "remember": [
            "did not fail treatment",
            "did not do anything wrong",
            "stressful",
            "calm and relaxed",
            "tiring",
            "time and energy",
            "small goals",
            "loved ones",
            "comfort",
            "find meaning",
        ],
        "more_info": [
            "national cancer institute",
            "clinical trials",
            "prevention",
            "detection",
            "diagnosis",
            "survivorship",
            "end of life",
            "1-800-422-6237",
            "www.cancer.gov",
            "american society of clinical oncology",
            "caregivers",
            "888-651-3038",
            "www.cancer.net",
        ],
    },
    "es": {
        "what": ["regresa", "vuelve a aparecer", "no se pudo encontrar", "mismo lugar", "otra parte del cuerpo", "cáncer recurrente"],
        "why": ["células cancerosas", "después del tratamiento", "demasiado pequeñas", "seguimiento", "científicos no saben"],
        "where": [
            "mismo lugar",
            "mismo tipo de cáncer",
            "regresar a una parte diferente del cuerpo",
            "se disemina",
            "metástasis",
            "ha hecho metástasis",
        ],
        "different": [
            "emociones",
            "ha regresado",
            "conocimiento",
            "experiencia",
            "qué esperar",
            "esperanzas",
            "efectos secundarios",
            "sobrellevar",
            "tratamientos nuevos y mejores",
        ],
        "harder": [
            "reacciona",
            "más exigente",
            "en lo emocional",
            ("personas que le apoyarán", "personas que le van a apoyar"),
            "familia",
            "médicos y enfermeras",
            "psicólogo de la salud",
            "trabajadores sociales de oncología",
            "comunidad religiosa o espiritual",
            "proveedor de atención médica",
        ],
        "remember": [
            "no ha fallado en el tratamiento",
            "ni ha hecho nada malo",
            "puede causar estrés",
            "calma y tranquilidad",
            "cansarle",
            "dedique su tiempo",
            "energía",
            "metas pequeñas",
            "seres queridos",
            "consolarle",
            "sentido",
        ],
        "more_info": [
            "instituto nacional del cáncer",
            "estudios clínicos",
            "tipos de cáncer",
            "prevención",
            "detección",
            "diagnóstico",
            ("supervivencia", "la vida después del cáncer"),
            "atención al final de la vida",
            "1-800-422-6237",
            "www.cancer.gov/espanol",
            "sociedad estadounidense de oncología clínica",
            ("quienes los cuidan", "quienes las cuidan"),
            "888-651-3038",
            "www.cancer.net",
        ],
    },
}

# What every text answer ends with: that it is general information, and a pointer to the care team.
CARE_NOTE = {
    "en": ("general info", "not medical advice", "care team"),
    "es": ("informacion general", "no consejo médico", "equipo médico"),
}

# Spanish texts are written without á, í, ó, ú (not GSM-7). Where that would turn a word into another
# one, the text is reworded; these forms must not come back.
MEANING_CHANGED_WITHOUT_ACCENT = {
    "es": [
        "regreso",  # "el regreso" (the return), not "regresó" (it came back)
        "como ayudar",  # "like helping", not "cómo ayudar" (how to help)
        "como sobrellevar",
        "como consolarle",
        "apoyaran",  # "might support", not "apoyarán" (will support)
        "no fallo",  # "no fallo" (I do not fail / no ruling), not "no falló"
        "llego",  # "llego" (I arrive), not "llegó" (you reached): the reply-budget notices
        "alcanzo",  # "alcanzo" (I reach), not "alcanzó", the same trap
        "espanol",  # ñ is GSM-7: "español"
    ],
}
