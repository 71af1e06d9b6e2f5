// django-celery-beat's periodic task form: shows the chosen crontab in words under the field.
// Its template had this inline; Fireline's Content-Security-Policy allows no inline script.
"use strict";
{
  const $ = django.jQuery;
  const readableCrontabs = JSON.parse($("#readable-crontabs").text());
  const originalCrontabHelp = document.getElementById("periodic-task-overrides").dataset.crontabHelp;

  const updateCrontabHelp = (additional) => {
    $(".field-crontab .help").text(originalCrontabHelp).append("<br>", document.createTextNode(`Translation: ${additional}`));
  };

  $(".field-crontab_translation").hide();
  $(".field-crontab").change(() => {
    updateCrontabHelp(readableCrontabs[$("#id_crontab").val()]);
  });
}
