## E-Mail an Menschen: Links, Sicherheitshinweise, Antworten. Reiner Text.

mail-reset-subject = Passwort zurücksetzen
mail-reset-body = Jemand hat das Zurücksetzen des Passworts Ihres Kontos ({ $address }) angefordert.

    Um ein neues Passwort zu wählen, öffnen Sie diesen Link innerhalb von 15 Minuten. Er funktioniert einmal:

    { $link }

    Zum Anmelden brauchen Sie danach weiterhin Ihren zweiten Faktor. Wenn Sie das nicht angefordert haben, ignorieren Sie diese Nachricht: Ihr Passwort bleibt, wie es ist.
mail-invite-subject = Ihr Konto im Support-Portal
mail-invite-body = Hallo { $name },

    für Sie wurde ein Konto in unserem Support-Portal angelegt, in dem Sie Ihre Anfragen verfolgen und beantworten können.

    Um es zu aktivieren, wählen Sie innerhalb von 72 Stunden ein Passwort. Der Link funktioniert einmal:

    { $link }

    Wenn Sie das nicht erwartet haben, können Sie diese Nachricht ignorieren.
mail-notice-footer = Wenn Sie das waren, ist nichts zu tun. Wenn nicht, melden Sie sich an und ändern Sie Ihr Passwort, prüfen Sie Ihre Geräte und zweiten Faktoren, oder wenden Sie sich an Ihre Administration.

    Diese Nachricht wurde von Palisade gesendet; sie enthält absichtlich keine Links.
mail-notice-password-changed-subject = Ihr Passwort wurde geändert
mail-notice-password-changed = Das Passwort Ihres Kontos wurde soeben aus einer angemeldeten Sitzung geändert, und alle anderen Geräte wurden abgemeldet.
mail-notice-password-reset-subject = Ihr Passwort wurde zurückgesetzt
mail-notice-password-reset = Das Passwort Ihres Kontos wurde soeben mit einem an diese Adresse gesandten Link zurückgesetzt, und alle angemeldeten Geräte wurden abgemeldet.
mail-notice-factors-changed-subject = Ihre Anmeldemethoden haben sich geändert
mail-notice-factors-changed = Ein zweiter Faktor (Authenticator-App, Passkey oder Wiederherstellungscodes) Ihres Kontos wurde soeben hinzugefügt oder entfernt, und Ihre anderen Geräte wurden abgemeldet.
mail-notice-factors-reset-subject = Richten Sie einen neuen zweiten Faktor ein
mail-notice-factors-reset = Eine Administratorin oder ein Administrator hat die Authenticator-App, die Passkeys und die Wiederherstellungscodes Ihres Kontos entfernt und alle Geräte abgemeldet. Bei Ihrer nächsten Anmeldung richten Sie nach dem Passwort einen neuen zweiten Faktor ein.
mail-notice-paused-subject = Die Anmeldung an Ihrem Konto wurde pausiert
mail-notice-paused = Für Ihr Konto wurden mehrere falsche Passwörter eingegeben, daher ist die Anmeldung eine Weile pausiert. Ihr Passwort wurde nicht geändert.
mail-notice-elsewhere-subject = Neue Anmeldung an Ihrem Konto
mail-notice-elsewhere = Ihr Konto wurde auf einem anderen Gerät angemeldet (von { $address }), daher wurde die Sitzung auf Ihrem vorherigen Gerät ({ $other }) beendet.
mail-unknown-address = einer unbekannten Adresse
mail-confirm-subject = Bitte bestätigen Sie Ihre Nachricht an unser Support-Team
mail-confirm-body = Unser Support-Team hat in Ihrem Namen eine Nachricht mit dem Betreff „{ $name }“ erhalten. Sie kam nicht über einen Weg, der den Absender nachweist, daher ist sie noch nicht in Ihrem Konto.

    Wenn Sie sie gesendet haben, bestätigen Sie sie hier, um sie und unsere Antworten in Ihrem Konto zu verfolgen:

    { $link }

    Wenn nicht, ignorieren Sie diese E-Mail: Die Nachricht bleibt Ihrem Konto fern, und niemandem wird etwas darüber gesagt. So oder so kommen unsere Antworten nur an diese Adresse. Der Link funktioniert einmal, 14 Tage lang.
mail-reply-withheld = { $count ->
    [one] 1 mit dieser Antwort gesendete Datei hängt nicht an dieser E-Mail; melden Sie sich an, um sie zu sehen: { $link }
   *[other] { $count } mit dieser Antwort gesendete Dateien hängen nicht an dieser E-Mail; melden Sie sich an, um sie zu sehen: { $link }
}
mail-reply-footer = Antworten Sie auf diese E-Mail, um zu antworten (Ticket #{ $number }). Ihre Antwort erreicht das Ticket nur von dieser Adresse.
mail-secure-subject = [#{ $number }] Neue Antwort auf Ihre Anfrage
mail-secure-body = Es gibt eine neue Antwort auf Ihre Anfrage #{ $number }.

    Melden Sie sich an, um sie zu lesen:
    { $link }

    Zu Ihrer Sicherheit wird die Antwort selbst nicht per E-Mail gesendet.
mail-notify-about = { $name }: Ticket #{ $number } „{ $other }“.
mail-notify-footer = Wählen Sie, worüber und wie Sie informiert werden: { $link }
mail-digest-subject = { $count ->
    [one] Palisade: 1 Benachrichtigung
   *[other] Palisade: { $count } Benachrichtigungen
}
mail-digest-intro = Seit Ihrer letzten Sammelmail:

mail-ack-subject = [#{ $number }] Wir haben Ihre Anfrage erhalten
mail-ack-body = Hallo { $name },

    danke für Ihre Nachricht. Ihre Anfrage hat die Nummer { $number }: „{ $other }“.
    Wir antworten so bald wie möglich; antworten Sie auf diese Mail, um etwas zu ergänzen.
mail-ack-body-secure = Hallo { $name },

    danke für Ihre Nachricht. Ihre Anfrage hat die Nummer { $number }.
    Wir antworten so bald wie möglich; antworten Sie auf diese Mail, um etwas zu ergänzen.
mail-survey-subject = [#{ $number }] Wie war unsere Hilfe?
mail-survey-body = Ihre Anfrage #{ $number } ist gelöst. Wurde Ihnen gut geholfen?

    Sagen Sie es uns mit einem Klick (die Seite fragt nichts weiter):
    { $link }

    Ist noch etwas offen, antworten Sie einfach auf diese Mail.
