## Jede Seite: Navigation, Anmeldung, Wörter mehrerer Seiten.

brand = Palisade
nav-my-tickets = Meine Tickets
nav-tickets = Tickets
nav-quarantine = Quarantäne
nav-notifications = Benachrichtigungen
nav-help-centre = Hilfe-Center
nav-articles = Artikel
nav-macros = Makros
nav-customers = Kunden
nav-staff = Mitarbeitende
nav-teams = Teams
nav-fields = Felder
nav-settings = Einstellungen
nav-rules = Regeln
nav-service-levels = Service-Level
nav-companies = Firmen
nav-alerts = Warnungen
nav-operations = Betrieb
nav-privacy = Datenschutz
nav-webhooks = Webhooks
person-erased = gelöschte Person
nav-devices = Geräte
nav-security = Sicherheit
nav-search-label = Tickets durchsuchen
nav-search-placeholder = Tickets durchsuchen
nav-search-button = Suchen
nav-sign-out = Abmelden
nav-language = Sprache

shortcuts-title = Tastenkürzel
shortcuts-toggle = diese Liste zeigen oder verbergen
shortcuts-next-previous = nächstes / vorheriges Ticket einer Liste
shortcuts-open = das gewählte Ticket öffnen
shortcuts-tick = das gewählte Ticket für eine Sammeländerung markieren
shortcuts-reply = eine Antwort schreiben
shortcuts-note = eine interne Notiz schreiben
shortcuts-assign = das Ticket mir zuweisen
shortcuts-macro = ein Makro wählen
shortcuts-next-ticket = nächstes / vorheriges Ticket der Liste
shortcuts-back = zurück zur Ticketliste

login-title = Anmelden
login-email = E-Mail
login-password = Passwort
login-button = Anmelden
login-forgot = Passwort vergessen?
login-sso = Oder mit Ihrer Organisation anmelden:

role-admin = Administrator/in
role-supervisor = Teamleitung
role-agent = Agent/in
role-light_agent = Lese-Agent/in
role-auditor = Prüfer/in
role-customer = Kunde/Kundin

status-new = neu
status-open = offen
status-pending = wartend
status-solved = gelöst
status-closed = geschlossen
priority-low = niedrig
priority-normal = normal
priority-high = hoch
priority-urgent = dringend
type-question = Frage
type-incident = Störung
type-problem = Problem
type-task = Aufgabe

any = alle
anyone = alle
nobody = niemand
me = ich
keep = beibehalten
none = keines

month-1 = Jan.
month-2 = Feb.
month-3 = März
month-4 = Apr.
month-5 = Mai
month-6 = Juni
month-7 = Juli
month-8 = Aug.
month-9 = Sep.
month-10 = Okt.
month-11 = Nov.
month-12 = Dez.

time-just-now = gerade eben
time-minutes-ago = vor { $count } Min.
time-hours-ago = vor { $count } Std.
time-days-ago = { $count ->
    [one] vor { $count } Tag
   *[other] vor { $count } Tagen
}

account-language-title = Sprache
account-language-intro = Die Sprache der Seiten von Palisade für Sie. Ohne Auswahl gilt die Sprache Ihres Browsers, wenn Palisade sie spricht.
account-language-browser = wie mein Browser es wünscht
account-language-save = Sprache speichern
account-language-saved = Sprache gespeichert.

lang = de
