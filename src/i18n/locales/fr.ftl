# Les mots d'agenda en français. Un fichier par langue, chaque message dans chacun
# (src/i18n/tests.rs le vérifie). Ce que les gens ont saisi (titres, noms, lieux) arrive en
# paramètre et n'est jamais traduit. Les espaces avant « : » et à l'intérieur des guillemets
# sont insécables (U+00A0), selon l'usage typographique français.

## Dates et heures (date complète et heure courte du CLDR ; vérifiées avec ICU dans tests/it/i18n.rs)

weekday = { $day ->
    [monday] lundi
    [tuesday] mardi
    [wednesday] mercredi
    [thursday] jeudi
    [friday] vendredi
    [saturday] samedi
   *[sunday] dimanche
}
month = { $month ->
    [january] janvier
    [february] février
    [march] mars
    [april] avril
    [may] mai
    [june] juin
    [july] juillet
    [august] août
    [september] septembre
    [october] octobre
    [november] novembre
   *[december] décembre
}
# « jeudi 17 novembre 2022 »
date-full = { $weekday } { $day } { $month } { $year }
# L'horloge, en motif CLDR : HH (09:05) ou H (9:05), puis mm.
time-pattern = HH:mm
# Le début d'une plage : « jeudi 17 novembre 2022, 15:00 »
date-time = { $date }, { $time }

## Toutes les pages

skip-to-content = Aller au contenu
site-nav = Site
all-sessions = Toutes les séances
footer = Servi par agenda. Les heures sont données dans le fuseau horaire de chaque séance.
language-nav = Langue
# Après une heure, par le script facultatif : « (votre heure locale : jeu. 17 nov., 09:00 UTC−5) »
your-time = votre heure locale :
not-found = Page introuvable
see-all-sessions = Voir toutes les séances
no-such-page = Cette page n’existe pas.
no-such-session = Aucune séance publique ne se trouve à cette adresse.
no-such-slot = Ce point ne figure dans aucune séance publique.
no-such-person = Cette personne ne figure pas ici.

## Séances et points du programme

format-online = En ligne
format-in-person = En présentiel
format-hybrid = Hybride
role-organizer = organisateur
role-moderator = modérateur
role-speaker = intervenant
role-participant = participant
material-slides = diapositives
material-programme = programme
material-participant-list = liste des participants
material-recording = enregistrement
material-document = document
material-other = autre
presented-by = présenté par
cancelled-mark = (annulé)
tentative-mark = (à confirmer)

## La page d’accueil

sessions = Séances
search = Rechercher
organizer = Organisateur
tag = Mot-clé
find-sessions = Trouver des séances
upcoming = À venir
past = Passées
upcoming-sessions = Séances à venir
past-sessions = Séances passées
upcoming-pages = Pages des séances à venir
past-pages = Pages des séances passées
no-sessions = Aucune séance.
when = Date et heure
session = Séance
format = Format
previous-page = Page précédente
next-page = Page suivante
subscribe = S’abonner
subscribe-all = S’abonner à toutes les séances publiques (webcal)
calendar-feed = Flux de calendrier ({ $scheme })

## La page d’une séance

time-zone = Fuseau horaire : { $zone }
place = Lieu
join = Connexion
join-online = Rejoindre en ligne
moderators = { $count ->
    [one] Modérateur
   *[other] Modérateurs
}
status = Statut
status-cancelled = Annulée
status-completed = Terminée
tags = Mots-clés
programme = Programme
no-programme = Le programme n’est pas encore publié.
time = Heure
slot = Sujet
speakers = Intervenants
materials = Documents
calendar = Agenda
download-ics = Télécharger le .ics
# Lu par les lecteurs d’écran après « Télécharger le .ics ».
download-ics-for = de « { $slot } »
recording = Enregistrement
annexes = Annexes
confirmed-participants = Participants confirmés ({ $count })
other-group = Autres
add-to-calendar = Ajouter à votre agenda
subscribe-webcal = S’abonner (webcal)
add-to-google = Ajouter à Google Agenda
slot-files = Chaque point du programme a aussi son propre fichier .ics à télécharger.

## La page d’une personne

position = Fonction
affiliation = Organisation
speaking-and-moderating = Interventions et modération
no-slots = Aucune intervention dans une séance publique.
role = Rôle
subscribe-person = S’abonner aux interventions de { $name } (webcal)

## Courriels d’invitation (texte brut, sans marques d’isolement ; la partie calendrier n’est jamais traduite)

mail-subject = { $kind ->
    [update] Invitation mise à jour
    [cancel] Annulation
   *[invitation] Invitation
} : { $what }, { $when }
mail-greeting = Bonjour { $name },
mail-invite-speak = Nous vous invitons à intervenir sur « { $slot } » lors de « { $session } », organisé par { $organizer }.
mail-invite-moderate = Nous vous invitons à modérer « { $slot } » lors de « { $session } », organisé par { $organizer }.
mail-cancel-slot = « { $slot } » (« { $session } ») est annulé pour vous : ce point a été annulé ou retiré du programme, ou vous n’y figurez plus.
mail-invite-session = Nous vous invitons à participer à « { $session } », organisé par { $organizer }.
mail-cancel-session = « { $session } » est annulé pour vous : la séance a été annulée, ou vous ne figurez plus sur la liste des participants.
mail-when = Date et heure : { $when }
mail-your-time = Votre heure locale : { $when }
mail-where = Lieu : { $place }
mail-join = Connexion : { $url }
mail-speakers = Intervenants : { $names }
mail-moderators = Modération : { $names }
mail-answer-slot = Merci de répondre depuis votre agenda (accepter, provisoire ou refuser) : votre réponse met à jour le programme.
mail-answer-session = Merci de répondre depuis votre agenda (accepter, provisoire ou refuser) : votre réponse met à jour la liste des participants.
