# Las palabras de agenda en español. Un archivo por idioma, cada mensaje en cada uno
# (src/i18n/tests.rs lo comprueba). Lo que la gente escribió (títulos, nombres, lugares) llega
# como parámetro y nunca se traduce.

## Fechas y horas (fecha completa y hora corta del CLDR; comprobadas con ICU en tests/it/i18n.rs)

weekday = { $day ->
    [monday] lunes
    [tuesday] martes
    [wednesday] miércoles
    [thursday] jueves
    [friday] viernes
    [saturday] sábado
   *[sunday] domingo
}
month = { $month ->
    [january] enero
    [february] febrero
    [march] marzo
    [april] abril
    [may] mayo
    [june] junio
    [july] julio
    [august] agosto
    [september] septiembre
    [october] octubre
    [november] noviembre
   *[december] diciembre
}
# «jueves, 17 de noviembre de 2022»
date-full = { $weekday }, { $day } de { $month } de { $year }
# El reloj, como patrón CLDR: HH (09:05) o H (9:05), y luego mm.
time-pattern = H:mm
# El comienzo de un intervalo: «jueves, 17 de noviembre de 2022, 15:00»
date-time = { $date }, { $time }

## Todas las páginas

skip-to-content = Ir al contenido
site-nav = Sitio
all-sessions = Todas las sesiones
footer = Servido por agenda. Las horas se indican en la zona horaria de cada sesión.
language-nav = Idioma
# Tras una hora, por el script opcional: «(su hora: jue, 17 nov, 9:00 UTC−5)»
your-time = su hora:
not-found = Página no encontrada
see-all-sessions = Ver todas las sesiones
no-such-page = Esta página no existe.
no-such-session = No hay ninguna sesión pública en esta dirección.
no-such-slot = Este punto no figura en ninguna sesión pública.
no-such-person = Esta persona no figura aquí.

## Sesiones y puntos del programa

format-online = En línea
format-in-person = Presencial
format-hybrid = Híbrida
role-organizer = organizador
role-moderator = moderador
role-speaker = ponente
role-participant = participante
material-slides = diapositivas
material-programme = programa
material-participant-list = lista de participantes
material-recording = grabación
material-document = documento
material-other = otro
presented-by = presentado por
cancelled-mark = (cancelado)
tentative-mark = (por confirmar)

## La página principal

sessions = Sesiones
search = Buscar
organizer = Organizador
tag = Etiqueta
find-sessions = Buscar sesiones
upcoming = Próximas
past = Anteriores
upcoming-sessions = Próximas sesiones
past-sessions = Sesiones anteriores
upcoming-pages = Páginas de próximas sesiones
past-pages = Páginas de sesiones anteriores
no-sessions = No hay sesiones.
when = Fecha y hora
session = Sesión
format = Formato
previous-page = Página anterior
next-page = Página siguiente
subscribe = Suscribirse
subscribe-all = Suscribirse a todas las sesiones públicas (webcal)
calendar-feed = Calendario en línea ({ $scheme })

## La página de una sesión

time-zone = Zona horaria: { $zone }
place = Lugar
join = Conexión
join-online = Unirse en línea
moderators = { $count ->
    [one] Moderador
   *[other] Moderadores
}
status = Estado
status-cancelled = Cancelada
status-completed = Finalizada
tags = Etiquetas
programme = Programa
no-programme = Todavía no hay programa.
time = Hora
slot = Tema
speakers = Ponentes
materials = Documentos
calendar = Calendario
download-ics = Descargar .ics
# Lo leen los lectores de pantalla después de «Descargar .ics».
download-ics-for = de «{ $slot }»
recording = Grabación
annexes = Anexos
confirmed-participants = Participantes confirmados ({ $count })
other-group = Otros
add-to-calendar = Añadir al calendario
subscribe-webcal = Suscribirse (webcal)
add-to-google = Añadir a Google Calendar
slot-files = Cada punto del programa tiene también su propio archivo .ics para descargar.

## La página de una persona

position = Cargo
affiliation = Organización
speaking-and-moderating = Intervenciones y moderación
no-slots = Ninguna intervención en sesiones públicas.
role = Función
subscribe-person = Suscribirse a las intervenciones de { $name } (webcal)

## Correos de invitación (texto plano, sin marcas de aislamiento; la parte de calendario nunca se traduce)

mail-subject = { $kind ->
    [update] Invitación actualizada
    [cancel] Cancelación
   *[invitation] Invitación
}: { $what }, { $when }
mail-greeting = Estimado/a { $name }:
mail-invite-speak = Le invitamos a intervenir en «{ $slot }», dentro de «{ $session }», organizado por { $organizer }.
mail-invite-moderate = Le invitamos a moderar «{ $slot }», dentro de «{ $session }», organizado por { $organizer }.
mail-cancel-slot = «{ $slot }» («{ $session }») queda cancelado para usted: el punto se canceló o se retiró del programa, o usted ya no figura en él.
mail-invite-session = Le invitamos a participar en «{ $session }», organizado por { $organizer }.
mail-cancel-session = «{ $session }» queda cancelada para usted: la sesión se canceló o usted ya no figura en la lista de participantes.
mail-when = Fecha y hora: { $when }
mail-your-time = Su hora local: { $when }
mail-where = Lugar: { $place }
mail-join = Conexión: { $url }
mail-speakers = Ponentes: { $names }
mail-moderators = Moderación: { $names }
mail-answer-slot = Le rogamos que responda desde su calendario (aceptar, provisional o rechazar): su respuesta actualiza el programa.
mail-answer-session = Le rogamos que responda desde su calendario (aceptar, provisional o rechazar): su respuesta actualiza la lista de participantes.
