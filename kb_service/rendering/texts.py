"""Every user-facing string of the rendering layer, per language.

Texts are picked by the language subtag of the answer's locale so that "pl-PL" and "pl" share
one table; anything unsupported falls back to English rather than failing a live conversation.
Wording avoids grammatical gender of the speaker (Polish, Slovenian and Ukrainian past tenses
are gendered) because the same text is used by human agents and by bots.
"""

from dataclasses import dataclass

from indexer.locales import language_of


@dataclass(frozen=True)
class Texts:
    greeting: str
    sign_off: tuple[str, str]  # closing phrase, team signature
    subject_prefix: str
    reference: str  # label in front of the article key in emails
    read_full: str
    found: str  # "here is what I found"
    step_first: str  # templates with {step}
    step_then: str
    step_finally: str
    article_number: str  # template with {key}
    more_in_article: str  # spoken when the phone script had to be cut
    link_placeholder: str  # spoken instead of a URL
    digits: tuple[str, ...]  # 0..9 as words, for reading the article key aloud
    handoff_chat: str
    handoff_email_subject: str
    handoff_email_body: str
    handoff_phone: str
    handoff_social: str


EN = Texts(
    greeting="Hello,",
    sign_off=("Kind regards,", "Customer Support"),
    subject_prefix="Answer",
    reference="Reference",
    read_full="Read the full article",
    found="Here is what I found",
    step_first="First, {step}",
    step_then="Then, {step}",
    step_finally="Finally, {step}",
    article_number="The article number is {key}.",
    more_in_article="You will find the remaining details in the full article in our help centre.",
    link_placeholder="(link in the article)",
    digits=("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    handoff_chat="Sorry, I couldn't find an answer to that. Let me connect you with an agent.",
    handoff_email_subject="Manual reply needed",
    handoff_email_body=(
        "No knowledge-base answer was found for this request. Please answer the customer manually."
    ),
    handoff_phone=(
        "I'm sorry, I don't have an answer to that right now. "
        "I'll transfer you to a specialist who can help."
    ),
    handoff_social="Thanks for reaching out! Please send us a DM so we can help you personally.",
)

PL = Texts(
    greeting="Dzień dobry,",
    sign_off=("Z poważaniem,", "Zespół Obsługi Klienta"),
    subject_prefix="Odpowiedź",
    reference="Numer artykułu",
    read_full="Przeczytaj cały artykuł",
    found="Oto, co udało mi się znaleźć",
    step_first="Najpierw {step}",
    step_then="Następnie {step}",
    step_finally="Na koniec {step}",
    article_number="Numer artykułu to {key}.",
    more_in_article="Pozostałe informacje znajdują się w pełnym artykule w naszym centrum pomocy.",
    link_placeholder="(link w artykule)",
    digits=(
        "zero",
        "jeden",
        "dwa",
        "trzy",
        "cztery",
        "pięć",
        "sześć",
        "siedem",
        "osiem",
        "dziewięć",
    ),
    handoff_chat=(
        "Niestety nie udało mi się znaleźć odpowiedzi na to pytanie. "
        "Zaraz przekażę rozmowę konsultantowi."
    ),
    handoff_email_subject="Wymagana ręczna odpowiedź",
    handoff_email_body=(
        "W bazie wiedzy nie znaleziono odpowiedzi na to zgłoszenie. "
        "Proszę odpowiedzieć klientowi samodzielnie."
    ),
    handoff_phone=(
        "Przepraszam, w tej chwili nie mam odpowiedzi na to pytanie. "
        "Przełączę rozmowę do specjalisty, który pomoże."
    ),
    handoff_social=(
        "Dziękujemy za kontakt! Prosimy o wiadomość prywatną (DM), a chętnie pomożemy."
    ),
)

SL = Texts(
    greeting="Pozdravljeni,",
    sign_off=("Lep pozdrav,", "Ekipa za podporo strankam"),
    subject_prefix="Odgovor",
    reference="Številka članka",
    read_full="Preberite celoten članek",
    found="Tole mi je uspelo najti",
    step_first="Najprej {step}",
    step_then="Nato {step}",
    step_finally="Na koncu {step}",
    article_number="Številka članka je {key}.",
    more_in_article="Preostale podrobnosti najdete v celotnem članku v našem centru za pomoč.",
    link_placeholder="(povezava v članku)",
    digits=("nič", "ena", "dva", "tri", "štiri", "pet", "šest", "sedem", "osem", "devet"),
    handoff_chat=(
        "Na to vprašanje žal nimam odgovora. Zdaj vas bomo povezali z našim svetovalcem."
    ),
    handoff_email_subject="Potreben ročni odgovor",
    handoff_email_body=(
        "Za to zahtevo v bazi znanja ni odgovora. Prosimo, odgovorite stranki ročno."
    ),
    handoff_phone=(
        "Oprostite, na to vprašanje trenutno nimam odgovora. "
        "Preusmerili vas bomo k strokovnjaku, ki vam bo lahko pomagal."
    ),
    handoff_social=(
        "Hvala, ker ste nam pisali! Prosimo, pošljite nam zasebno sporočilo, "
        "da vam bomo lahko pomagali."
    ),
)

UK = Texts(
    greeting="Доброго дня!",
    sign_off=("З повагою,", "Служба підтримки клієнтів"),
    subject_prefix="Відповідь",
    reference="Номер статті",
    read_full="Прочитайте статтю повністю",
    found="Ось що вдалося знайти",
    step_first="Спочатку {step}",
    step_then="Потім {step}",
    step_finally="Насамкінець {step}",
    article_number="Номер статті — {key}.",
    more_in_article="Решту інформації ви знайдете в повній статті в нашому довідковому центрі.",
    link_placeholder="(посилання в статті)",
    digits=("нуль", "один", "два", "три", "чотири", "п’ять", "шість", "сім", "вісім", "дев’ять"),
    handoff_chat=(
        "На жаль, не вдалося знайти відповідь на це запитання. Зараз я з’єднаю вас з оператором."
    ),
    handoff_email_subject="Потрібна відповідь вручну",
    handoff_email_body=(
        "У базі знань не знайдено відповіді на цей запит. "
        "Будь ласка, дайте відповідь клієнтові вручну."
    ),
    handoff_phone=(
        "Вибачте, зараз я не маю відповіді на це запитання. "
        "Я переведу ваш дзвінок на фахівця, який зможе допомогти."
    ),
    handoff_social=(
        "Дякуємо за звернення! Будь ласка, напишіть нам в особисті повідомлення, і ми допоможемо."
    ),
)

_BY_LANGUAGE: dict[str, Texts] = {"en": EN, "pl": PL, "sl": SL, "uk": UK}


def texts_for(locale: str) -> Texts:
    """Texts for the locale's language, English when the language is not supported."""
    return _BY_LANGUAGE.get(language_of(locale), EN)
