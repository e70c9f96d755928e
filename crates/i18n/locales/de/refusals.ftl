## Warum eine Anfrage abgelehnt wurde: das „detail" eines Problems in der API, der Hinweis auf einer Seite.

# Die Namen der Felder, um die es in einer Ablehnung gehen kann.
field-word-subject = Betreff
field-word-body = Text
field-word-name = Name
field-word-text = Text
field-word-label = Bezeichnung
field-word-option = Option
field-word-comment = Kommentar
field-word-organisation-name = Name der Organisation

refusal-text-empty = Das Feld „{ $field }" darf nicht leer sein
refusal-text-long = Das Feld „{ $field }" ist länger als { $max } Zeichen
refusal-text-control = Das Feld „{ $field }" enthält Steuerzeichen
refusal-text-one-line = Das Feld „{ $field }" muss eine einzige Zeile sein
refusal-query-long = Die Suche ist länger als { $max } Byte
refusal-search-long = Eine Suche hat höchstens { $max } Zeichen
refusal-tags-at-most = Höchstens { $max } Schlagwörter
refusal-tag-form = Schlagwörter bestehen aus 1 bis 64 Buchstaben, Ziffern, - oder _
refusal-tags-lower-case = Schlagwörter werden kleingeschrieben
refusal-empty-file = Die Datei ist leer
refusal-day-format = Ein Tag wird als JJJJ-MM-TT geschrieben
refusal-no-order = Diese Sortierung gibt es nicht
refusal-no-view = Diese Ansicht gibt es nicht
refusal-locale-form = Die Sprache wird wie en, de oder pt-BR angegeben
refusal-language = Palisade spricht „{ $value }" nicht
refusal-phone = Eine Telefonnummer besteht aus Ziffern, Leerzeichen und + - ( ) .
refusal-invalid-id = Keine gültige Kennung ({ $kind })
refusal-invalid-email = Keine gültige E-Mail-Adresse
refusal-unknown-variant = Unbekannter Wert für { $kind }: { $value }
refusal-invalid-tag = Schlagwörter bestehen aus 1 bis 64 Buchstaben, Ziffern, „-" oder „_"
refusal-duplicate = Ein Eintrag mit diesen Werten existiert bereits
refusal-invalid-cursor = Ungültige Seitenmarke
refusal-invalid-version = Ungültige Version
refusal-limit = Die Anzahl liegt zwischen 1 und { $max }
refusal-json-object = Der Inhalt muss ein JSON-Objekt sein
refusal-json-body = Der JSON-Inhalt passt nicht zum erwarteten Typ: { $detail }
refusal-request-unreadable = Die Anfrage konnte nicht gelesen werden: { $detail }
refusal-form-unreadable = Das Formular konnte nicht gelesen werden
refusal-form-field = Unerwartetes Formularfeld

# Tickets
refusal-no-team-yet = Es gibt noch kein Team, das Tickets annimmt
refusal-own-name = Kundinnen und Kunden eröffnen Tickets in eigenem Namen
refusal-customer-team = Kundinnen und Kunden können kein Team wählen
refusal-unknown-team = Unbekanntes Team
refusal-unknown-company = Unbekannte Firma
refusal-no-company = Keine Firma { $value }
refusal-requester-customer = Die anfragende Person muss ein bestehendes Kundenkonto sein
refusal-secure-public = Sichere Zustellung gibt es nur für öffentliche Antworten; interne Notizen werden nie verschickt
refusal-file-not-attachable = Eine Datei zu einer Nachricht muss an dieses Ticket angehängt sein, mit derselben Sichtbarkeit, und darf noch mit keiner anderen Nachricht verschickt worden sein
refusal-unknown-assignee = Unbekannte zuständige Person
refusal-assignee-team = Die zuständige Person muss Agent im Team des Tickets sein
refusal-assignee-me-or-nobody = Zuständig ist „ich" oder niemand
refusal-assign-me-or-nobody = Mir selbst oder niemandem zuweisen
refusal-collaborators-customers = Beteiligte müssen bestehende Kundenkonten sein
refusal-requester-unconfirmed = Die anfragende Person hat dieses Ticket noch nicht bestätigt
refusal-ticket-merged = Das Ticket wurde mit einem anderen zusammengeführt; schreiben Sie dort
refusal-merge-itself = Ein Ticket kann nicht mit sich selbst zusammengeführt werden
refusal-link-itself = Ein Ticket kann nicht mit sich selbst verknüpft werden
refusal-merge-chain = Zu viele Zusammenführungen hintereinander
refusal-reply-form = Die Antwort braucht einen Text und eine Sichtbarkeit
refusal-files-per-message = Höchstens { $max } Dateien gehen mit einer Nachricht
refusal-file-name = Der Dateiname darf keine Pfadtrenner enthalten
refusal-choose-file = Wählen Sie eine Datei zum Anhängen.
refusal-file-empty = Die Datei ist leer.
refusal-chosen-file-empty = Eine gewählte Datei ist leer.
refusal-bulk-count = Wählen Sie 1 bis { $max } Tickets
refusal-bulk-twice = Ein Ticket ist doppelt gewählt

# Ansichten
refusal-staff-filter = Dieser Filter ist dem Team vorbehalten
refusal-field-filter = Ein Feldfilter nennt ein Feld und einen Wert
refusal-view-personal-field = Eine gespeicherte Ansicht kann den Wert eines persönlichen Feldes nicht behalten; filtern Sie stattdessen die Liste

# Eigene Felder
refusal-field-key = Der Schlüssel eines Feldes ist ein Kleinbuchstabe, gefolgt von bis zu 39 Kleinbuchstaben, Ziffern oder _
refusal-field-option-space = Die Option „{ $option }" beginnt oder endet mit Leerraum
refusal-field-option-twice = Die Option „{ $option }" steht doppelt in der Liste
refusal-field-options-count = Eine Auswahlliste hat 1 bis { $max } Optionen
refusal-field-options-kind = Nur eine Auswahlliste hat Optionen
refusal-field-personal-kind = Nur Text-, Zahlen- und Datumsfelder können persönliche Daten enthalten
refusal-field-kind = Unbekannte Feldart
refusal-field-number = { $field }: eine Zahl mit bis zu 6 Nachkommastellen
refusal-field-date = { $field }: ein Datum im Format JJJJ-MM-TT
refusal-field-choice = { $field }: eine der Optionen des Feldes
refusal-field-checkbox = { $field }: wahr oder falsch
refusal-field-key-taken = Ein Feld mit dem Schlüssel { $key } existiert bereits
refusal-no-field = Es gibt kein Feld „{ $key }"
refusal-fields-required = Füllen Sie vor dem Lösen die Pflichtfelder aus: { $list }

# Makros
refusal-macro-braces = Geschweifte Klammern gibt es nur für die Platzhalter { $list }
refusal-macro-personal-team = Ein persönliches Makro hat kein Team; teilen Sie es, um ihm eines zu geben
refusal-macro-empty-body = Der Text darf nicht leer sein; lassen Sie ihn stattdessen weg

# Personen und Team
refusal-staff-endpoint = Für Kundenkonten gibt es /api/v1/customers
refusal-admin-exists = Es gibt bereits eine Administration; bitten Sie dort um eine Einladung
refusal-email-taken = Ein Konto mit dieser E-Mail-Adresse existiert bereits
refusal-team-members-staff = Teammitglieder müssen bestehende Mitarbeitende sein
refusal-own-factors = Ihre eigenen zweiten Faktoren ändern Sie auf Ihrer Sicherheitsseite
refusal-customer-factors = Kundinnen und Kunden verwalten ihre zweiten Faktoren selbst
refusal-own-role = Ihre eigene Rolle können Sie nicht ändern
refusal-staff-role = Eine Teamrolle ist admin, supervisor, agent, light_agent oder auditor
refusal-customer-role = Kundenkonten haben keine Teamrollen
refusal-own-disable = Ihr eigenes Konto können Sie nicht sperren
refusal-share-tickets = share_tickets ist yes oder no
refusal-people-merge-self = Ein Kundenkonto kann nicht mit sich selbst zusammengeführt werden
refusal-people-merged-already = Eines dieser Konten wurde bereits zusammengeführt
refusal-people-merge-disabled = Das bleibende Konto ist gesperrt; entsperren Sie es oder führen Sie in die andere Richtung zusammen

# Einstellungen und Benachrichtigungen
refusal-no-setting = Es gibt keine Einstellung „{ $name }"
refusal-setting-number = { $name }: eine Zahl von { $min } bis { $max }
refusal-setting-whole-number = { $name }: eine ganze Zahl von { $min } bis { $max }
refusal-setting-locale = { $name }: eine Sprache wie en, de oder pt-BR
refusal-setting-privacy-url = { $name }: ein Pfad auf dieser Seite (/help/…) oder eine https://-Adresse
refusal-setting-is-number = { $name } ist eine Zahl
refusal-setting-is-text = { $name } ist ein Text
refusal-notification-kind = Unbekannte Benachrichtigungsart „{ $value }"
refusal-notification-channel = Unbekannter Weg „{ $value }": off, in_app, email oder digest

# E-Mail und Quarantäne
refusal-sender-may-not-open = Der Absender darf keine Tickets eröffnen
refusal-sender-disabled = Das Konto des Absenders ist gesperrt
refusal-already-decided = Über diese Nachricht wurde bereits entschieden
refusal-release-staff-sender = Freigabe nicht möglich: Die Absenderadresse gehört zu einem Team- oder gesperrten Konto
refusal-release-may-not-open = Freigabe nicht möglich: Der Absender darf keine Tickets eröffnen
refusal-release-may-not-tag = Freigabe nicht möglich: Sie dürfen dieses Ticket nicht verschlagworten
refusal-release-undeliverable = Freigabe nicht möglich: Die Nachricht lässt sich so nicht zustellen

# Anmeldung, zweite Faktoren und Token
refusal-session-limit = Sie sind bereits auf einem anderen Gerät angemeldet; melden Sie sich dort zuerst ab
refusal-password-rejected = Passwort abgelehnt: { $reason }
refusal-password-short = Verwenden Sie mindestens 12 Zeichen
refusal-password-long = Verwenden Sie höchstens 1024 Byte
refusal-password-common = Dieses Passwort steht auf einer Liste häufig verwendeter Passwörter
refusal-password-personal = Bilden Sie das Passwort nicht aus Ihrem Namen oder Ihrer E-Mail-Adresse
refusal-password-guessable = Dieses Passwort ist zu leicht zu erraten; einige Wörter ohne Zusammenhang eignen sich gut
refusal-provider-unreachable = Der Anmeldedienst ist nicht erreichbar; versuchen Sie es später noch einmal
refusal-step-up = Bestätigen Sie, dass Sie es sind: Geben Sie Passwort und zweiten Faktor erneut ein und versuchen Sie es dann noch einmal
refusal-wrong-stage = Dieser Schritt gehört nicht zur aktuellen Anmeldung
refusal-already-enrolled = Eine Authentifizierungs-App ist bereits eingerichtet; entfernen Sie sie zuerst
refusal-not-enrolled = Es wird gerade keine Authentifizierungs-App eingerichtet
refusal-last-factor = Das ist Ihr letzter zweiter Faktor; fügen Sie einen weiteren hinzu, bevor Sie ihn entfernen
refusal-code-or-recovery = Geben Sie entweder `code` oder `recovery_code` an, nicht beides
refusal-code-required = `code` oder `recovery_code` ist nötig
refusal-unknown-ceremony = Unbekannter Vorgang
refusal-passkeys-off = Passkeys sind hier nicht eingerichtet
refusal-passkeys-at-most = Höchstens { $max } Passkeys
refusal-token-expiry = Die Gültigkeit beträgt 1 bis { $max } Tage
refusal-token-scope = Ein Token braucht mindestens einen Geltungsbereich

# Hilfe-Center und Assistent
refusal-article-slug-taken = Ein anderer Artikel in dieser Sprache hat bereits diese Kurzadresse
refusal-article-body = Ungültiger Inhalt: { $detail }
refusal-article-title = Der Titel hat 1 bis { $max } Zeichen in einer Zeile
refusal-article-body-long = Der Text ist länger als { $max } Zeichen
refusal-article-slug = Die Kurzadresse besteht aus Kleinbuchstaben, Ziffern und inneren Bindestrichen (höchstens 80)
refusal-article-audience = Die Zielgruppe ist public, customers oder internal
refusal-article-company-id = „{ $value }" ist keine Firmenkennung
refusal-article-companies-at-most = Höchstens { $max } Firmen
refusal-article-no-text = Nach dem Bereinigen bleibt vom Text nichts übrig
refusal-article-companies = Nur ein Artikel für Kundinnen und Kunden kann auf Firmen beschränkt werden
refusal-conversation-owner = Ein Gespräch ist genau dann anonym, wenn es niemandem gehört
refusal-conversation-consent = Stimmen Sie dem Hinweis zu oder wählen Sie Hilfe nur durch Menschen
refusal-choose-support = Wählen Sie den Assistenten oder Hilfe durch Menschen
refusal-choose-one-support = Wählen Sie entweder den Assistenten oder Hilfe durch Menschen, nicht beides
refusal-portal-and-site-token = Eine angemeldete Portalsitzung kann nicht zusätzlich ein Website-Token vorlegen
refusal-notice-changed = Der Hinweis hat sich geändert (jetzt Version { $number }); zeigen Sie ihn erneut an
refusal-handover-confirm = Bestätigen Sie die Übergabe
refusal-handed-over-already = Dieses Gespräch wurde bereits übergeben
refusal-handover-address = Geben Sie eine E-Mail-Adresse an, an die wir antworten können
refusal-handover-address-invalid = Diese E-Mail-Adresse ist nicht gültig
refusal-conversation-expired = Dieses bestätigte Gespräch ist abgelaufen; laden Sie die Seite neu, um ein neues zu beginnen
refusal-conversation-handed-over = Dieses Gespräch wurde an einen Menschen übergeben; beginnen Sie für etwas anderes ein neues
refusal-conversation-long = Dieses Gespräch ist zu lang; übergeben Sie es an einen Menschen

# Service-Level
refusal-calendar-zone = Unbekannte Zeitzone; verwenden Sie einen IANA-Namen wie Europe/Berlin
refusal-calendar-period = Eine Öffnungszeit reicht an einem Wochentag von HH:MM bis zu einem späteren HH:MM (höchstens 24:00)
refusal-calendar-overlap = Zwei Öffnungszeiten desselben Tages überschneiden sich
refusal-calendar-never-open = Ein Kalender braucht Öffnungszeiten
refusal-calendar-holidays = Zu viele geschlossene Tage
refusal-calendar-holiday = Ein geschlossener Tag ist ein Datum (JJJJ-MM-TT) oder ein existierender Monat und Tag
refusal-calendar-name-taken = Ein anderer Kalender hat diesen Namen
refusal-calendar-in-use = Eine Richtlinie rechnet in diesem Kalender; ändern Sie zuerst die Richtlinie
refusal-sla-minutes-form = Ein Ziel ist eine ganze Zahl von Minuten
refusal-sla-minutes = Ein Ziel beträgt 1 bis { $max } Minuten
refusal-sla-too-many = Höchstens { $max }
refusal-sla-no-target = Eine Richtlinie setzt mindestens ein Ziel
refusal-escalation-count = Höchstens { $max } Eskalationsschritte
refusal-escalation-target = Das Ziel einer Eskalation ist first_response, next_response oder resolution
refusal-escalation-nothing = Ein Eskalationsschritt tut etwas: benachrichtigen, die Priorität erhöhen oder das Ticket verschieben
refusal-sla-position = Die Position liegt zwischen 0 und 10000
refusal-sla-no-calendar = Diesen Kalender gibt es nicht
refusal-sla-name-taken = Eine andere Richtlinie hat diesen Namen
refusal-sla-personal-field = Der Wert eines persönlichen Feldes kann nicht in einer Richtlinie oder Regel stehen
refusal-rule-too-many = Höchstens { $max } Regeln
refusal-rule-name-taken = Eine andere Regel hat diesen Namen
refusal-rule-nothing = Eine Regel tut etwas: antworten, ein Makro anwenden, das Ticket ändern, es markieren oder benachrichtigen
refusal-rule-when = Eine Regel läuft entweder bei einem Ereignis oder wenn ein Ticket einige Minuten in einem Zustand war
refusal-rule-event = Unbekanntes Ereignis
refusal-rule-state = Unbekannter Zustand
refusal-rule-macro = Das Makro gibt es nicht, oder es ist nicht mit dem Team der Regel geteilt
refusal-rule-tag-both = Eine Regel kann ein Schlagwort nicht zugleich hinzufügen und entfernen
refusal-service-level-filter = Der Service-Level-Filter ist breached oder due_soon

# Antworten, die kein Feld betreffen.
problem-unauthenticated = Anmeldung erforderlich
problem-forbidden = Nicht erlaubt
problem-not-found = Nicht gefunden
problem-too-large = Der Inhalt der Anfrage ist zu groß
problem-media-type = Nicht unterstützter Medientyp
problem-credentials = E-Mail-Adresse oder Passwort ist falsch
problem-too-many = Zu viele Versuche; versuchen Sie es in { $count } Sekunden noch einmal
problem-cross-site = Websiteübergreifende Anfrage abgelehnt
problem-second-factor = Zum Abschluss der Anmeldung ist ein zweiter Faktor nötig
problem-enrolment = Richten Sie zuerst einen zweiten Faktor ein
problem-awaiting-scan = Diese Datei wartet auf die Virenprüfung; versuchen Sie es gleich noch einmal
problem-file-blocked = Diese Datei entspricht einer Schadsoftware-Signatur und ist gesperrt
problem-stale-ticket = Das Ticket hat sich geändert, seit Sie es gelesen haben; sehen Sie es sich an und entscheiden Sie neu
problem-internal = Interner Fehler
problem-title-not-found = Nicht gefunden
problem-title-forbidden = Nicht erlaubt
problem-title-refused = Das ging nicht
refusal-assign-mode = Unbekannte Art, Tickets zuzuweisen
refusal-assign-cap = Die Obergrenze liegt bei 1 bis { $max } Tickets je Agent
refusal-ack-texts = Die Eingangsbestätigungen sind ein Objekt aus Sprachkürzeln und Texten
refusal-assign-cap-form = Die Obergrenze ist eine ganze Zahl
refusal-rate-closed = Das Ticket ist geschlossen: seine Bewertung ändert sich nicht mehr
refusal-rate-unsolved = Ein Ticket wird bewertet, sobald es gelöst ist
refusal-rating = Die Bewertung ist gut oder schlecht
refusal-report-period = Ein Bericht umfasst ganze Tage, sein Ende nach seinem Anfang
refusal-report-too-long = Ein Bericht umfasst höchstens { $max } Tage
refusal-report-group = Ein Bericht wird nach Team, Agent, Kanal, Priorität oder Firma aufgeteilt
refusal-survey-link = Ein Umfragetext enthält den Link: {"{"}link{"}"}
refusal-erasure-done-already = Diese Person wurde bereits gelöscht
refusal-privacy-request-decided = Über diesen Antrag wurde bereits entschieden
refusal-erasure-same-approver = Eine Löschung bestätigt eine zweite Person, nicht die, die sie beantragt hat
refusal-erasure-legal-hold = Für diese Person, ihre Firma oder eines ihrer Tickets gilt eine Aufbewahrungspflicht (Legal Hold): erst aufheben
refusal-hold-released = Dieser Legal Hold wurde bereits aufgehoben
refusal-privacy-reason = Geben Sie einen Grund an, höchstens 500 Zeichen in einer Zeile
refusal-privacy-not-found = Kein Kundenkonto, keine Firma und kein Ticket hat diese ID
refusal-export-open = Ein Export Ihrer Daten wird bereits erstellt oder wartet auf Sie
refusal-export-not-ready = Dieser Export ist nicht fertig oder wurde bereits heruntergeladen
refusal-person-erased = Diese Person wurde gelöscht: in ihrem Namen wird nichts mehr gespeichert
refusal-retention-schedule = Eine Aufbewahrungsfrist beträgt 1 bis 36500 Tage; Adressen folgen nur dem Plan des Desks, Mail in Quarantäne dem des Desks oder eines Teams, Gesprächsverläufe dem des Desks oder einer Firma
refusal-retention-scope = Kein Team und keine Firma hat diese ID
refusal-retention-running = Die Aufbewahrungspläne werden gerade ausgeführt; versuchen Sie es nach dem Ende erneut
refusal-webhook-name = Ein Webhook braucht einen Namen von 1 bis 100 Zeichen in einer Zeile
refusal-webhook-url = Ein Webhook geht per https an eine öffentliche Adresse (einfaches http und interne Adressen nur an einen vom Betreiber erlaubten Host), ohne Benutzername oder Passwort in der URL, mit höchstens 2000 Zeichen
refusal-webhook-events = Wählen Sie mindestens eines der Ereignisse, die ein Webhook senden kann
refusal-app-name = Eine Anwendung braucht einen Namen von 1 bis 100 Zeichen in einer Zeile
refusal-app-redirect = Weiterleitungsadressen sind https-Adressen oder http an eine Loopback-Adresse (127.0.0.1 oder [::1]), ohne Fragment oder Benutzernamen, höchstens 10; eine Anwendung ohne sie muss als ein Konto handeln
refusal-app-scopes = Wählen Sie mindestens einen Bereich: tickets:read, tickets:write, people:read, people:write, audit:read, articles:read, articles:write
refusal-app-act-as = Nur eine vertrauliche Anwendung (die ein Geheimnis bewahrt) darf als ein Konto handeln
