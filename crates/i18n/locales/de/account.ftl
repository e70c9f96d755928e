## Anmeldung, das eigene Konto und seine Sicherheit, und das Hilfe-Center.

security-title = Sicherheit
security-heading = Sicherheit der Anmeldung
security-needs-factor = Ihre Rolle verlangt einen zweiten Faktor. Richten Sie einen ein, um fortzufahren.
security-app = Authenticator-App
security-app-set = Eine Authenticator-App ist eingerichtet.
security-app-remove = Authenticator-App entfernen
security-app-explained = Nutzen Sie eine App wie einen Passwortmanager oder einen Authenticator, um sechsstellige Codes zu erzeugen.
security-app-add = Eine Authenticator-App einrichten
security-passkeys = Passkeys und Sicherheitsschlüssel
security-no-passkeys = Noch keine Passkeys.
security-added = hinzugefügt { $when }
security-last-used = , zuletzt benutzt { $when }
security-remove = Entfernen
security-passkey-name = Name für einen neuen Passkey
security-passkey-add = Einen Passkey oder Sicherheitsschlüssel hinzufügen
security-codes-once = Ihre Wiederherstellungscodes. Jeder meldet Sie einmal an, wenn Sie Ihren zweiten Faktor verlieren; sie werden nur jetzt gezeigt.
security-codes-saved = Ich habe sie gespeichert
security-password = Passwort
security-new-password = Neues Passwort
security-password-hint = Mindestens 12 Zeichen; lange Sätze sind am besten. Eine Änderung meldet Sie auf allen anderen Geräten ab.
security-password-change = Passwort ändern
security-codes = Wiederherstellungscodes
security-codes-left = { $count ->
    [one] 1 unbenutzter Wiederherstellungscode.
   *[other] { $count } unbenutzte Wiederherstellungscodes.
}
security-codes-new = Neue Wiederherstellungscodes erstellen

second-title = Zweiter Schritt
second-heading = Bestätigen Sie, dass Sie es sind
second-passkey = Einen Passkey oder Sicherheitsschlüssel verwenden
second-code = Code aus Ihrer Authenticator-App
second-continue = Weiter
second-recovery-instead = Stattdessen einen Wiederherstellungscode verwenden
second-recovery-code = Wiederherstellungscode
second-cancel = Abbrechen und abmelden

devices-title = Geräte
devices-heading = Wo Sie angemeldet sind
devices-device = Gerät
devices-address = Adresse
devices-signed-in = Angemeldet
devices-last-seen = Zuletzt gesehen
devices-this = dieses Gerät
devices-sign-out = Abmelden
devices-sign-out-others = Überall sonst abmelden

reset-title = Passwort zurücksetzen
reset-sent = Wenn ein Konto diese Adresse nutzt, ist ein Link zum Wählen eines neuen Passworts unterwegs. Er funktioniert einmal, 15 Minuten lang.
reset-back = Zurück zur Anmeldung
reset-explained = Geben Sie die Adresse Ihres Kontos ein. Wir senden einen Link zum Wählen eines neuen Passworts; zum Anmelden brauchen Sie weiterhin Ihren zweiten Faktor.
reset-email = E-Mail
reset-send = Mir einen Link senden

setup-title = Ein Passwort wählen
setup-explained = Verwenden Sie mindestens 12 Zeichen. Ein langer Satz ist am besten; weitere Regeln gibt es nicht.
setup-new-password = Neues Passwort
setup-save = Passwort speichern

welcome-title = Willkommen
welcome-heading = Willkommen bei Palisade
welcome-explained = Sie richten die erste Administratorin oder den ersten Administrator dieses Helpdesks ein. Als Nächstes wählen Sie ein Passwort, dann einen zweiten Faktor (eine Authenticator-App oder einen Passkey). Dieser Link funktioniert einmal.
welcome-name = Ihr Name
welcome-email = Ihre E-Mail-Adresse
welcome-continue = Weiter

confirm-title = Ihre Nachricht bestätigen
confirm-heading = Haben Sie uns geschrieben?
confirm-explained = Unser Support-Team hat in Ihrem Namen eine Nachricht erhalten, die nicht über einen Weg kam, der den Absender nachweist. Wenn Sie sie gesendet haben, bestätigen Sie sie, um sie und unsere Antworten in Ihrem Konto zu verfolgen.
confirm-yes = Ja, ich habe sie gesendet
confirm-no = Wenn nicht, schließen Sie diese Seite: Die Nachricht bleibt Ihrem Konto fern.

codes-title = Wiederherstellungscodes
codes-heading = Ihre Wiederherstellungscodes
codes-explained = Jeder Code meldet Sie einmal an, wenn Sie Ihren zweiten Faktor verlieren. Bewahren Sie sie sicher auf: Sie werden nur jetzt gezeigt.
codes-saved = Ich habe sie gespeichert

totp-title = Eine Authenticator-App einrichten
totp-scan = Scannen Sie diesen Code mit Ihrer App, oder tippen Sie den Schlüssel ein.
totp-qr = QR-Code mit dem Schlüssel unten
totp-code = Von der App angezeigter Code
totp-confirm = Bestätigen

stepup-title = Bestätigen Sie, dass Sie es sind
stepup-explained = Für diese Änderung müssen Sie sich erneut anmelden.
stepup-password = Passwort
stepup-code = Code aus Ihrer Authenticator-App oder ein Wiederherstellungscode
stepup-confirm = Bestätigen

help-title = Hilfe-Center
help-assistant = Assistent
help-sign-in = Anmelden
help-search = Suchen
help-found = { $count ->
    [one] 1 Artikel gefunden.
   *[other] { $count } Artikel gefunden.
}
help-nothing = Nichts gefunden. Versuchen Sie andere Wörter, oder
help-ask-us = fragen Sie uns
help-no-articles = Noch keine Artikel.
help-updated = aktualisiert { $when }

assistant-title = Assistent
assistant-heading = Support-Assistent
assistant-privacy = Datenschutzhinweis
assistant-how = Wie möchten Sie Hilfe erhalten?
assistant-agree = Ich bin einverstanden, mit dem automatischen Assistenten zu sprechen
assistant-people-only = Nur Menschen: mir nie automatische Antworten geben
assistant-start = Beginnen
assistant-signed-in = Angemeldet: Der Assistent kann Ihre eigenen Tickets sehen.
assistant-anonymous = Nicht angemeldet: Der Assistent kann kein Konto sehen.
assistant-chose-people = Sie haben nur Menschen gewählt.
assistant-you = Sie
assistant-name = Assistent
assistant-removed = Wir haben etwas aus Ihrer Nachricht entfernt, bevor wir sie aufbewahrt haben ({ $name }). Teilen Sie nie Passwörter, Codes oder Kartennummern.
assistant-your-message = Ihre Nachricht
assistant-send = Senden
assistant-hand-over-title = An einen Menschen übergeben
assistant-reply-to = E-Mail-Adresse für die Antwort
assistant-confirm-hand-over = Ja, dieses Gespräch an das Support-Team senden
assistant-hand-over = Übergeben
assistant-start-again = Neu beginnen
passkey-added = Passkey hinzugefügt.
passkey-unsupported = Dieser Browser unterstützt keine Passkeys.
passkey-prompt = Folgen Sie der Aufforderung Ihres Browsers …
passkey-failed = Das hat nicht geklappt:
passkey-default-name = Passkey
widget-box = Support-Assistent
widget-into-ticket = Dieses Gespräch hinzufügen zu #
widget-removed = Vor dem Speichern aus Ihrer Nachricht entfernt:
widget-unverified = Wir konnten nicht bestätigen, wer Sie sind. Laden Sie die Seite neu, oder melden Sie sich im Support-Portal an.
widget-failed = Etwas ist schiefgegangen:
widget-email = Ihre E-Mail-Adresse
widget-hand-over = An einen Menschen übergeben
widget-question = Ihre Frage
widget-send = Senden
widget-anonymous = Sie sind nicht angemeldet: Der Assistent kann keine Kontodaten sehen.
widget-verified = Sie sind angemeldet: Der Assistent kann Ihre eigenen Tickets auflisten.
widget-privacy = Datenschutzhinweis
widget-agree = Zustimmen und beginnen
widget-people-only = Nur mit einem Menschen sprechen
widget-removed-details = (Nachricht mit entfernten Angaben)
assistant-topic-password = Passwörter
assistant-topic-account_recovery = die Rückkehr in ein Konto
assistant-topic-email_change = die Änderung der E-Mail-Adresse eines Kontos
assistant-topic-second_factor = die Zwei-Faktor-Anmeldung
assistant-topic-payment_details = Zahlungsdaten
assistant-topic-refund_details = wohin Erstattungen gezahlt werden
assistant-secure-link-sent = Zu Ihrer Sicherheit behandle ich { $name } nicht in diesem Chat. Ich habe einen Einmal-Link an die E-Mail-Adresse Ihres Kontos gesendet; er funktioniert einmal und läuft bald ab. Wenn er nicht ankommt, kann ich Sie an einen Menschen übergeben.
assistant-secure-use-reset = Zu Ihrer Sicherheit behandle ich { $name } nicht in diesem Chat. Nutzen Sie „Passwort vergessen?“ auf der Anmeldeseite (/login/reset): Es sendet einen Einmal-Link an die Adresse Ihres Kontos. Oder ich übergebe Sie an einen Menschen.
assistant-secure-person = Zu Ihrer Sicherheit behandle ich { $name } nicht in diesem Chat. Ein Mensch aus unserem Support-Team kann helfen: Übergeben Sie dieses Gespräch, und man meldet sich bei Ihnen. Senden Sie nie Kartennummern oder Bankdaten in einem Chat oder per E-Mail.
assistant-people-only-reply = Sie haben Unterstützung nur durch Menschen gewählt, daher gibt es hier keine automatischen Antworten. Übergeben Sie dieses Gespräch, und unser Team antwortet.
assistant-no-longer-automated = Dieses Gespräch erhält keine automatischen Antworten mehr. Übergeben Sie es, und ein Mensch aus unserem Team antwortet.
assistant-of-course = Gern. Bestätigen Sie unten, und dieses Gespräch geht mit dem, was Sie hier geschrieben haben, an unser Support-Team.
assistant-no-tickets = Sie haben keine Tickets.
assistant-latest-tickets = { $count ->
    [one] Ihr neuestes Ticket:
   *[other] Ihre neuesten { $count } Tickets:
}
assistant-sign-in-for-tickets = In einem Gespräch ohne Anmeldung kann ich keine Tickets nachsehen. Melden Sie sich im Portal an und beginnen Sie ein neues Gespräch, oder sehen Sie Ihre Tickets dort.
assistant-no-article = Ich habe in unserem Hilfe-Center keinen Artikel gefunden, der das beantwortet. Möchten Sie, dass Ihnen ein Mensch aus unserem Support-Team hilft?
assistant-help-says = Das sagt unser Hilfe-Center:
assistant-handed-over = Ticket #{ $number } liegt bei unserem Support-Team, mit diesem Gespräch im Anhang. Antworten erhalten Sie per E-Mail und im Portal unter Meine Tickets.
assistant-handed-over-anonymous = Danke. Ein Mensch aus unserem Support-Team liest dieses Gespräch und antwortet an die angegebene Adresse. Da dieses Gespräch ohne Anmeldung war, werden keine Kontodetails besprochen, bis Sie nachweisen, dass Sie es sind.
prefs-availability = Neue Tickets
prefs-availability-explained = Teams, die Tickets automatisch zuweisen, geben sie nur Agenten, die neue Tickets annehmen. Nehmen Sie den Haken heraus, solange Sie abwesend sind.
prefs-available = Ich nehme neue Tickets an
notices-title = Der Hinweis des Assistenten, alle Fassungen
notices-explained = Was der Assistent allen vor einem Gespräch sagt. Ändert sich der Wortlaut, wird eine neue Fassung veröffentlicht und die alten bleiben hier: jede Entscheidung über den Assistenten nennt die Fassung, unter der sie getroffen wurde.
notice-version = Hinweis vom { $number }
notice-current = wird jetzt gezeigt
notice-is-current = Dies ist die Fassung, die jetzt vor Gesprächen gezeigt wird.
notice-replaced = Ersetzt durch eine neuere Fassung:
notices-all = Alle Fassungen
your-data-consents = Ihre Entscheidungen über den Assistenten
your-data-consent-assistant = dem Gespräch mit dem Assistenten zugestimmt
your-data-consent-people = nur mit Menschen sprechen
your-data-no-consents = Sie haben keine Entscheidung über den Assistenten getroffen.
