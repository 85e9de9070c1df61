/** The settings table shared by the {@code crossfade} command and the Spring Boot starter; one package, all API. */
module dev.crossfade.config {
    requires com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.dataformat.yaml;

    exports dev.crossfade.config;
}
