## Was eine Seite nach einer Änderung sagt, und die kurzen Seiten, die eine Sache sagen.

notice-team-created = Team angelegt.
notice-settings-saved = Einstellungen gespeichert.
notice-member-added = Mitglied hinzugefügt.
notice-member-removed = Mitglied entfernt.
notice-mailbox-routed = Die Support-Adresse liefert jetzt an das gewählte Team.
notice-invited = Einladung versandt.
notice-sessions-ended = Ihre Sitzungen wurden beendet.
notice-staff-disabled = Konto gesperrt; seine Sitzungen wurden beendet.
notice-role-changed = Rolle geändert; die Sitzungen wurden beendet, sie gilt also ab der nächsten Anmeldung.
notice-factors-reset = Die zweiten Faktoren wurden entfernt und die Sitzungen beendet; die Person wurde per E-Mail informiert und richtet bei der nächsten Anmeldung einen neuen Faktor ein.
notice-account-created = Konto angelegt.
notice-field-added = Feld hinzugefügt.
notice-field-saved = Feld gespeichert.
notice-field-retired = Feld stillgelegt; Tickets behalten ihre Werte.
notice-desk-settings-saved = Einstellungen gespeichert; sie gelten ab der nächsten Anfrage.
notice-customer-created = Kunde angelegt; die Einladung wurde per E-Mail versandt.
notice-saved = Gespeichert.
notice-customer-disabled = Konto gesperrt; seine Sitzungen und API-Tokens wurden beendet.
notice-customers-merged = Zusammengeführt: Die Tickets gehören jetzt diesem Kunden, und E-Mail von der anderen Adresse kommt hier an.
notice-password-changed = Passwort geändert. Sie wurden überall sonst abgemeldet.
role-choice-agent = Agent/in
role-choice-light_agent = Lese-Agent/in (nur interne Notizen)
role-choice-supervisor = Teamleitung
role-choice-auditor = Prüfer/in
role-choice-admin = Administrator/in
channel-off = Aus
channel-in_app = Nur in Palisade
channel-email = Sofort per E-Mail
channel-digest = Stündliche Sammelmail

bulk-nothing-title = Nichts geändert
bulk-nothing = Markieren Sie in der Liste die zu ändernden Tickets und wählen Sie, was sich ändern soll.
bulk-not-seen = Ein Ticket, das Sie nicht sehen dürfen, wurde nicht geändert.
bulk-not-allowed = Ein Ticket, das Sie so nicht ändern dürfen, wurde nicht geändert.
bulk-invalid = Ein Ticket wurde nicht geändert: { $name }.
bulk-changed = { $count ->
    [one] 1 Ticket geändert.
   *[other] { $count } Tickets geändert.
}
bulk-back-short = Zurück zu den Tickets

link-invalid-title = Link ungültig
link-invalid-confirm = Dieser Link ist ungültig, abgelaufen oder wurde schon benutzt. Wenn Sie uns geschrieben haben, kommen unsere Antworten weiterhin an Ihre E-Mail-Adresse.
link-invalid-setup = Dieser Link ist ungültig, abgelaufen oder wurde schon benutzt. Bitten Sie eine Administratorin oder einen Administrator um einen neuen.
link-help-centre = Hilfe-Center
link-sign-in = Anmelden
confirm-thanks-title = Danke
confirm-thanks = Ihre Nachricht ist jetzt in Ihrem Konto, mit unseren Antworten, sobald sie kommen. Melden Sie sich an, um sie zu verfolgen.
confirm-open = Öffnen
password-saved-title = Passwort gespeichert
password-saved = Ihr Passwort ist gesetzt. Melden Sie sich an, um fortzufahren.
password-rejected = Passwort abgelehnt: { $name }.
welcome-link-broken = Dieser Link funktioniert nicht
welcome-invalid = Geben Sie Ihren Namen und eine gültige E-Mail-Adresse an.

error-title = Etwas ist schiefgegangen
error-reference = Bei uns ist etwas schiefgegangen (Referenz { $name }).
error-back = Zurück zu den Tickets
login-invalid = E-Mail oder Passwort ungültig.
login-too-many = Zu viele Anmeldeversuche aus Ihrem Netz. Versuchen Sie es in { $count } Sekunden erneut.
code-missing = Geben Sie einen Code ein.
code-refused = Dieser Code wurde nicht angenommen. Codes gelten einmal; warten Sie auf den nächsten.
too-many-attempts = Zu viele Versuche. Versuchen Sie es in { $count } Sekunden erneut.
totp-mismatch = Dieser Code passte nicht. Prüfen Sie die Uhrzeit Ihres Geräts und versuchen Sie den nächsten Code.
stepup-mismatch = Das passte nicht. Prüfen Sie Passwort und Code.
sso-failed = Die Anmeldung über Ihre Organisation wurde nicht abgeschlossen. Beginnen Sie neu, oder melden Sie sich mit Ihrem Passwort an.
handover-tick = Setzen Sie das Häkchen, um die Übergabe zu bestätigen.
file-too-large = Eine Datei ist größer, als dieser Helpdesk annimmt (höchstens { $count } KiB).
reply-too-many-files = Höchstens { $count } Dateien gehen mit einer Antwort.
scan-waiting = Einige Dateien werden auf Schadsoftware geprüft; sie lassen sich herunterladen, sobald sie als sauber gelten. Laden Sie die Seite gleich neu.
scan-down = Der Virenscanner antwortet nicht: Dateien warten auf ihn und lassen sich erst herunterladen, wenn er zurück ist. Ihre Administration wurde im Serverprotokoll informiert.
scan-unscanned = nicht auf Schadsoftware geprüft
scan-awaiting = wartet auf die Prüfung auf Schadsoftware
fields-stale = Jemand hat dieses Ticket geändert, während Sie seine Felder bearbeitet haben; nichts wurde gespeichert. Hier ist es, wie es jetzt ist.
relations-no-ticket = Kein Ticket, das Sie ändern dürfen, hat diese Nummer.
bulk-changed-some = { $count ->
    [one] 1 Ticket geändert
   *[other] { $count } Tickets geändert
}; { $other } nicht geändert.
notification-new_ticket = Neues Ticket in Ihrem Team
notification-customer_reply = Der Kunde hat geantwortet
notification-assigned = Ihnen zugewiesen
notification-service_level = Ein Service-Level-Ziel ist gefährdet oder verfehlt
notification-rule = Eine Regel bittet um Ihre Aufmerksamkeit
notification-mention = Sie wurden in einer Notiz erwähnt
notice-levels-saved = Service-Level gespeichert; die Ziele offener Tickets folgen.
